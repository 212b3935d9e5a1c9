"""Phone events handled per second through the running service (signed Mango webhooks).

Starts the real service as a child process (``okno migrate``, then ``okno serve`` with the
phone channel on: SQLite alone, or PostgreSQL + Redis), and drives it from this process with
aiohttp: every call of a mixed workload (missed inbound calls, some from the same numbers,
answered calls with a recording, outbound call-backs) is sent as its Mango events
(``events/call`` legs, ``events/recording``, ``events/summary``), each event twice, shuffled
within windows of calls so they arrive out of order and interleaved, by ``--concurrency``
clients at once. Throughput counts every answered POST (duplicates included: handling a
redelivery is part of the job); latency is per POST.

Afterwards the database must show the one ordered-delivery result: every event stored once,
every finished call decided (none left waiting), and exactly one ticket per number that had a
missed call. Results go to stdout and ``bench/results/phone.json``; a summary to stderr.

    .venv/bin/python -P bench/phone.py                       # sqlite and postgres, ~1 minute
    .venv/bin/python -P bench/phone.py --scenarios sqlite --calls 300
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from redis.asyncio import Redis
from sqlalchemy import func, select

from channels.phone.signature import mango_sign
from tests.fakes.scratch_db import scratch_postgres
from ticketing.db import DatabaseSettings, create_engine
from ticketing.models import TicketRow
from ticketing.rows_phone import CallEventRow, CallRecordingRow, CallRow

ROOT = Path(__file__).resolve().parent.parent
KEY, SALT = "bench-key-0123456789", "bench-salt-9876543210"
SECRET = "bench-secret-" + "x" * 40
Event = tuple[str, str]  # (kind, json text exactly as signed)


# -- the workload ----------------------------------------------------------------------------


def _j(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False)


def call_events(index: int, number: str, kind: str, at: int) -> list[Event]:
    """One call as Mango reports it: its leg, a recording when talked, then the summary."""
    entry, leg_id = f"bench-{index}", f"bench-{index}-leg"
    caller, agent = {"number": number}, {"extension": "101", "number": "sip:a@x.mangosip.ru"}
    outbound = kind == "out"
    parties = {"from": agent, "to": caller} if outbound else {"from": caller, "to": agent}
    talked = kind != "missed"

    def leg(seq: int | str, state: str, **extra: Any) -> Event:
        body = {"entry_id": entry, "call_id": leg_id, "location": "abonent", **parties}
        return "call", _j({**body, "seq": seq, "call_state": state, **extra})

    def recording(seq: int, state: str, **extra: Any) -> Event:
        body = {"recording_id": f"rec-{index}", "entry_id": entry, "call_id": leg_id}
        return "recording", _j({**body, "recording_state": state, "seq": seq, **extra})

    summary = {
        "entry_id": entry,
        "call_direction": 2 if outbound else 1,
        **parties,
        "line_number": "74951234567",
        "create_time": at,
        "forward_time": at,
        "talk_time": at + 4 if talked else 0,
        "end_time": at + 60,
        "entry_result": int(talked),
        "disconnect_reason": 1100,
    }
    events = [leg(1, "Appeared", timestamp=at)]
    if talked:  # a string seq on purpose: Mango sends both
        events += [leg("2", "Connected", timestamp=at + 4), recording(1, "Started")]
        events.append(recording(2, "Completed", completion_code=1000, recipient="Cloud"))
    events += [leg(3, "Disconnected", timestamp=at + 60, disconnect_reason=1100)]
    return [*events, ("summary", _j(summary))]


def workload(calls: int, window: int, seed: int) -> tuple[list[Event], set[str], int]:
    """(every delivery in sending order, numbers with a missed call, distinct events)."""
    rng = random.Random(seed)
    run = uuid.uuid4().int % 10_000
    pool = [f"7915{run:04d}{i:03d}" for i in range(max(calls // 3, 1))]
    kinds = ["missed", "missed", "missed", "answered", "out"]
    missed_numbers: set[str] = set()
    deliveries: list[Event] = []
    distinct = 0
    for start in range(0, calls, window):
        batch: list[Event] = []
        for index in range(start, min(start + window, calls)):
            kind, number = kinds[index % len(kinds)], rng.choice(pool)
            if kind == "missed":
                missed_numbers.add("+" + number)
            events = call_events(index, number, kind, 1_763_800_000 + index * 90)
            distinct += len(events)
            batch += events * 2  # every event delivered twice
        rng.shuffle(batch)
        deliveries += batch
    return deliveries, missed_numbers, distinct


# -- driving the service ---------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(int(q * len(ordered)), len(ordered) - 1)] * 1000, 2)


async def drive(port: int, deliveries: list[Event], concurrency: int) -> dict[str, Any]:
    queue: asyncio.Queue[Event] = asyncio.Queue()
    for item in deliveries:
        queue.put_nowait(item)
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    outcomes: Counter[str] = Counter()

    async def client(http: aiohttp.ClientSession) -> None:
        while not queue.empty():
            kind, body = queue.get_nowait()
            signed = {"vpbx_api_key": KEY, "sign": mango_sign(KEY, body, SALT), "json": body}
            form = urlencode(signed)
            started = time.perf_counter()
            async with http.post(
                f"http://127.0.0.1:{port}/phone/mango/events/{kind}",
                data=form,
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            ) as response:
                answer = await response.json()
            latencies.append(time.perf_counter() - started)
            statuses[response.status] += 1
            outcomes[answer.get("outcome", "error")] += 1

    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=60)
    started = time.perf_counter()
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        await asyncio.gather(*(client(http) for _ in range(concurrency)))
    seconds = time.perf_counter() - started
    return {
        "events_sent": len(deliveries),
        "seconds": round(seconds, 3),
        "events_per_s": round(len(deliveries) / seconds, 1),
        "latency_ms": {
            "p50": percentile(latencies, 0.5),
            "p95": percentile(latencies, 0.95),
            "p99": percentile(latencies, 0.99),
            "max": percentile(latencies, 1.0),
        },
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "outcomes": dict(sorted(outcomes.items())),
    }


async def verify(database_url: str, missed: set[str], distinct: int) -> dict[str, Any]:
    """The result of one ordered delivery: events once, calls decided, a ticket per number."""
    engine = create_engine(DatabaseSettings(url=database_url))
    try:
        async with engine.connect() as conn:
            for _ in range(300):  # calls still "queued" finish routing in the background
                undecided = await conn.scalar(
                    select(func.count()).where(CallRow.state.in_(["new", "submitted", "waiting"]))
                )
                if undecided == 0:
                    break
                await asyncio.sleep(0.1)
            by_state = select(CallRow.state, func.count()).group_by(CallRow.state)
            states = dict((await conn.execute(by_state)).all())
            by_number = select(TicketRow.reply_address, func.count()).group_by(
                TicketRow.reply_address
            )
            numbers = (await conn.execute(by_number)).all()
            events = await conn.scalar(select(func.count()).select_from(CallEventRow))
            unlogged = await conn.scalar(
                select(func.count())
                .select_from(CallRecordingRow)
                .join(CallRow, CallRow.id == CallRecordingRow.call_id)
                .where(CallRow.ticket_id.is_not(None), CallRecordingRow.ticket_id.is_(None))
            )
    finally:
        await engine.dispose()
    per_number = dict(numbers)
    checks = {
        "every_event_stored_once": events == distinct,
        "every_call_decided": set(states) <= {"linked", "ignored"},
        "one_ticket_per_missed_number": set(per_number) == missed
        and set(per_number.values()) == {1},
        "recordings_logged": unlogged == 0,
    }
    return {"call_states": states, "tickets": sum(per_number.values()), "checks": checks}


# -- processes and databases -----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def okno(*args: str, env: dict[str, str], **popen: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "okno", *args], env=env, **popen)


@contextlib.asynccontextmanager
async def database(backend: str, args: argparse.Namespace, workdir: Path) -> AsyncIterator[str]:
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{workdir / 'okno.db'}"
        return
    redis = Redis.from_url(args.redis_url)
    await redis.flushdb()
    await redis.aclose()
    async with scratch_postgres(args.pg_admin_url, "okno_bench_phone", migrate=False) as url:
        yield url


async def wait_ready(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(600):
            if process.poll() is not None:
                tail = (await asyncio.to_thread(log.read_text))[-3000:]
                raise RuntimeError(f"okno serve exited:\n{tail}")
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"http://127.0.0.1:{port}/readyz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise RuntimeError("okno serve did not become ready")


async def scenario(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    deliveries, missed, distinct = workload(args.calls, args.window, args.seed)
    with tempfile.TemporaryDirectory(prefix=f"okno-bench-phone-{backend}-") as tmp:
        workdir = Path(tmp)
        async with database(backend, args, workdir) as url:
            port = free_port()
            env = {k: v for k, v in os.environ.items() if not k.startswith("OKNO_")} | {
                "OKNO_DATABASE_URL": url,
                "OKNO_HTTP__PORT": str(port),
                "OKNO_SECRET_KEY": SECRET,
                "OKNO_DATA_DIR": str(workdir / "var"),
                "OKNO_STORAGE__ATTACHMENTS_DIR": str(workdir / "attachments"),
                "OKNO_LOGGING__LEVEL": "WARNING",
                "OKNO_PHONE__ENABLED": "true",
                "OKNO_PHONE__MANGO__ENABLED": "true",
                "OKNO_PHONE__MANGO__VPBX_API_KEY": KEY,
                "OKNO_PHONE__MANGO__VPBX_API_SALT": SALT,
            }
            if backend == "postgres":
                env["OKNO_REDIS_URL"] = args.redis_url
            migrate = okno("migrate", env=env, cwd=workdir, stdout=subprocess.DEVNULL)
            if migrate.wait(timeout=120) != 0:
                raise RuntimeError("okno migrate failed")
            log = workdir / "serve.log"
            with log.open("ab") as out:
                process = okno("serve", env=env, cwd=workdir, stdout=out, stderr=out)
            try:
                await wait_ready(process, port, log)
                warm_up = call_events(-1, "79150000000", "missed", 1_763_700_000)
                await drive(port, warm_up, 4)  # connections and caches warm; not timed
                result = await drive(port, deliveries, args.concurrency)
            finally:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=30)
            result |= await verify(url, missed | {"+79150000000"}, distinct + len(warm_up))
    return {"backend": backend, "calls": args.calls, **result}


async def main(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {
        "benchmark": "phone",
        "command": " ".join([".venv/bin/python", "-P", "bench/phone.py", *sys.argv[1:]]),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "settings": {k: v for k, v in vars(args).items() if k not in {"output"}},
        "scenarios": [],
    }
    for backend in [s.strip() for s in args.scenarios.split(",") if s.strip()]:
        print(f"phone bench: {backend} …", file=sys.stderr, flush=True)
        results["scenarios"].append(await scenario(backend, args))
    return results


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--scenarios", default="sqlite,postgres", help="sqlite and/or postgres")
    parser.add_argument("--calls", type=int, default=600, help="calls in the workload")
    parser.add_argument("--window", type=int, default=20, help="calls whose events interleave")
    parser.add_argument("--concurrency", type=int, default=16, help="clients sending at once")
    parser.add_argument("--seed", type=int, default=5, help="shuffle seed")
    parser.add_argument(
        "--pg-admin-url",
        default=os.environ.get(
            "OKNO_BENCH_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
        ),
        help="where a scratch database is created (env OKNO_BENCH_PG_URL)",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("OKNO_BENCH_PHONE_REDIS_URL", "redis://127.0.0.1:6379/12"),
        help="a Redis db this bench may flush (env OKNO_BENCH_PHONE_REDIS_URL)",
    )
    parser.add_argument("--output", default=str(ROOT / "bench" / "results" / "phone.json"))
    return parser.parse_args(argv)


def run_cli() -> int:
    args = parse_args()
    results = asyncio.run(main(args))
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    document = json.dumps(results, indent=2, ensure_ascii=False)
    output.write_text(document + "\n")
    print(document)
    for item in results["scenarios"]:
        print(
            f"{item['backend']:>8}: {item['events_per_s']:>7} events/s  "
            f"p50 {item['latency_ms']['p50']} ms  p99 {item['latency_ms']['p99']} ms  "
            f"checks {'ok' if all(item['checks'].values()) else item['checks']}",
            file=sys.stderr,
        )
    ok = all(all(item["checks"].values()) for item in results["scenarios"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(run_cli())
