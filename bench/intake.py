"""Intake throughput and latency of ``POST /api/v1/messages`` until ticket and ack are committed.

Starts the real service as child processes (``okno migrate``, ``okno token create``, then
``okno serve`` alone on SQLite, or ``okno serve --roles http,notify`` beside one or two
``okno worker router`` on PostgreSQL + Redis), drives it from this process with aiohttp, and
compares it with the ceiling: the same rows inserted with SQLAlchemy Core, one transaction per
message. Every scenario gets a scratch database (a SQLite file, a PostgreSQL database dropped
afterwards) and a flushed Redis db.

Phases per scenario, on a fresh database:

* warm-up: a few messages so connections and caches are warm (verified, not timed);
* closed loop: ``--concurrency`` clients send ``--count`` messages from distinct senders as fast
  as answers come back; throughput counts only answers with outcome ``created``;
* open loop: ``--rate`` messages per second for ``--duration`` seconds, scheduled by the clock;
  latency runs from the scheduled send to the answer, so a stall is not hidden.

Afterwards the database must hold exactly one ticket and one acknowledgement outbox row per
message sent, and every inbox row must be ``done``. Results go to stdout and
``bench/results/intake.json`` as JSON; a summary table goes to stderr.

    .venv/bin/python -P bench/intake.py                   # everything (about 3 minutes)
    .venv/bin/python -P bench/intake.py --scenarios sqlite --count 1000
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import hashlib
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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import aiohttp
from redis.asyncio import Redis
from sqlalchemy import Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fakes.scratch_db import scratch_postgres
from ticketing.db import DatabaseSettings, create_engine
from ticketing.models import (
    CommentRow,
    ContactRow,
    IdentityRow,
    InboundMessageRow,
    OutboxRow,
    TicketEventRow,
    TicketRow,
)

ROOT = Path(__file__).resolve().parent.parent
TOPICS_CSV = ROOT.parent / "shared" / "data" / "tickets" / "endava-topics-train.csv"
SECRET = "bench-secret-" + "x" * 40
FLOORS = {"sqlite_msgs_per_s": 300, "postgres_2_workers_msgs_per_s": 500, "p99_ms_at_rate": 50}


# -- messages --------------------------------------------------------------------------------

RU_PROBLEMS = [
    ("Не печатает принтер", "Принтер {place} не печатает, в очереди висят документы. {extra}"),
    ("Не работает VPN", "С утра не подключается VPN, пишет «ошибка 809». {extra}"),
    ("Нет доступа к папке", "Нужен доступ на запись к папке \\\\srv\\{dept} для отчёта. {extra}"),
    ("1С не запускается", "1С выдаёт «нет свободной лицензии» у меня и коллег. {extra}"),
    ("Почта не отправляется", "Письма висят в исходящих с ошибкой 550. {extra}"),
    ("Сломался монитор", "Монитор {place} мерцает и гаснет через пару минут работы. {extra}"),
    ("Пароль истёк", "Не могу войти в Windows: пароль истёк, смена не проходит. {extra}"),
    ("Новый сотрудник", "С понедельника выходит новый сотрудник в {dept}, нужна учётка. {extra}"),
]
RU_PLACES = ["на третьем этаже", "в переговорной", "у бухгалтерии", "в кабинете 214", "на складе"]
RU_DEPTS = ["buh", "hr", "sales", "it", "logistics"]
RU_EXTRAS = [
    "Перезагрузка не помогла.",
    "Скриншот могу прислать.",
    "Работать можно, но неудобно.",
    "Проблема повторяется второй день.",
    "",
]
FIRST_NAMES = ["Анна", "Борис", "Мария", "Иван", "Ольга", "John", "Emma", "Liam", "Sofia"]
LAST_NAMES = ["Иванова", "Петров", "Смирнова", "Кузнецов", "Smith", "Brown", "Garcia"]


def load_english(limit: int = 4000) -> list[tuple[str, str]]:
    """(subject, text) pairs from the Endava ticket corpus (English, pre-processed)."""
    pairs: list[tuple[str, str]] = []
    with TOPICS_CSV.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            words = row["Document"].split()
            if len(words) >= 6:
                pairs.append((" ".join(words[:8]), " ".join(words)[:4000]))
            if len(pairs) >= limit:
                break
    return pairs


class Messages:
    """Realistic bodies (half Russian, half English corpus) from distinct senders."""

    def __init__(self, seed: int = 7) -> None:
        self._random = random.Random(seed)
        self._english = load_english()
        self._run = uuid.uuid4().hex[:8]

    def body(self, tag: str, index: int) -> bytes:
        rnd = self._random
        if index % 2:
            subject, text_ = rnd.choice(self._english)
        else:
            subject, template = rnd.choice(RU_PROBLEMS)
            text_ = template.format(
                place=rnd.choice(RU_PLACES), dept=rnd.choice(RU_DEPTS), extra=rnd.choice(RU_EXTRAS)
            )
        name = f"{rnd.choice(FIRST_NAMES)} {rnd.choice(LAST_NAMES)}"
        payload = {
            "external_id": f"bench-{self._run}-{tag}-{index}",
            "sender": {"name": name, "email": f"{tag}.{index}.{self._run}@example.ru"},
            "subject": subject,
            "text": text_,
        }
        return json.dumps(payload, ensure_ascii=False).encode()


# -- statistics ------------------------------------------------------------------------------


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


def latency_summary(latencies: list[float]) -> dict[str, float]:
    ms = sorted(x * 1000 for x in latencies)
    return {
        "p50": round(percentile(ms, 50), 2),
        "p90": round(percentile(ms, 90), 2),
        "p99": round(percentile(ms, 99), 2),
        "max": round(ms[-1], 2) if ms else float("nan"),
        "mean": round(sum(ms) / len(ms), 2) if ms else float("nan"),
    }


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)

    @property
    def created(self) -> int:
        return self.outcomes["created"]


async def post(http: aiohttp.ClientSession, url: str, body: bytes, tally: Tally) -> None:
    try:
        async with http.post(url, data=body) as response:
            answer = await response.read()
            outcome = (
                json.loads(answer)["outcome"]
                if response.status == 202
                else f"http_{response.status}"
            )
    except (aiohttp.ClientError, TimeoutError) as exc:
        outcome = f"error_{exc.__class__.__name__}"
    tally.outcomes[outcome] += 1


# -- load ------------------------------------------------------------------------------------


def client(token: str, limit: int) -> aiohttp.ClientSession:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=limit, force_close=False)
    timeout = aiohttp.ClientTimeout(total=60)
    return aiohttp.ClientSession(headers=headers, connector=connector, timeout=timeout)


async def closed_loop(url: str, token: str, bodies: list[bytes], concurrency: int) -> Tally:
    tally = Tally()
    pending = iter(bodies)

    async def one_client(http: aiohttp.ClientSession) -> None:
        for body in pending:
            started = time.perf_counter()
            await post(http, url, body, tally)
            tally.latencies.append(time.perf_counter() - started)

    async with client(token, concurrency) as http:
        await asyncio.gather(*(one_client(http) for _ in range(concurrency)))
    return tally


async def open_loop(url: str, token: str, bodies: list[bytes], rate: float) -> Tally:
    """Send body i at t0 + i / rate whatever happened before; latency from that instant."""
    tally = Tally()

    async def timed(http: aiohttp.ClientSession, body: bytes, scheduled: float) -> None:
        await post(http, url, body, tally)
        tally.latencies.append(time.perf_counter() - scheduled)

    async with client(token, 1024) as http, asyncio.TaskGroup() as group:
        start = time.perf_counter() + 0.05
        for index, body in enumerate(bodies):
            scheduled = start + index / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            group.create_task(timed(http, body, scheduled))
    return tally


# -- processes -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def okno_command() -> list[str]:
    script = Path(sys.executable).parent / "okno"
    return [str(script)] if script.exists() else [sys.executable, "-m", "okno"]


def rss_mib(pid: int) -> tuple[float, float]:
    """(current RSS, peak RSS) of a process in MiB, from /proc."""
    values = {"VmRSS": 0.0, "VmHWM": 0.0}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in values:
                values[key] = int(rest.split()[0]) / 1024
    return round(values["VmRSS"], 1), round(values["VmHWM"], 1)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far, from /proc."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return 0.0


class Cluster:
    """The okno processes of one scenario, their logs, and their memory."""

    def __init__(self, env: dict[str, str], workdir: Path, profile: Path | None) -> None:
        self.env = env
        self.workdir = workdir
        self.profile = profile
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.peak_rss: dict[str, float] = {}

    def run(self, *args: str) -> str:
        done = subprocess.run(
            [*okno_command(), *args], env=self.env, capture_output=True, check=False, timeout=120
        )
        if done.returncode != 0:
            raise RuntimeError(f"okno {' '.join(args)} failed:\n{done.stderr.decode()}")
        return done.stdout.decode()

    def start(self, name: str, *args: str) -> None:
        command = [*okno_command(), *args]
        if self.profile is not None:
            self.profile.mkdir(parents=True, exist_ok=True)
            if os.environ.get("OKNO_BENCH_PROFILER") == "cprofile":
                # Deterministic, and it follows SQLAlchemy's greenlets back to our callers,
                # which py-spy's sampled stacks lose; costs ~2x CPU, so read ratios, not rates.
                out = self.profile / f"{name}.prof"
                command = [sys.executable, "-m", "cProfile", "-o", str(out), "-m", "okno", *args]
            else:
                out = self.profile / f"{name}.txt"
                command = ["uvx", "py-spy", "record", "--format", "raw", "-r", "200"]
                command += ["-o", str(out), "--", *okno_command(), *args]
        with (self.workdir / f"{name}.log").open("ab") as log:
            self.processes[name] = subprocess.Popen(
                command, env=self.env, stdout=log, stderr=log, cwd=self.workdir
            )

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(
            f"--- {name}.log ---\n"
            + "\n".join((self.workdir / f"{name}.log").read_text().splitlines()[-lines:])
            for name in self.processes
        )

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}\n{self.log_tail()}")

    def sample_rss(self) -> None:
        for name, process in self.processes.items():
            current, _ = rss_mib(self._python_pid(process))
            self.peak_rss[name] = max(self.peak_rss.get(name, 0.0), current)

    def _python_pid(self, process: subprocess.Popen[bytes]) -> int:
        """The okno process itself, also when py-spy started it as its child."""
        if self.profile is None:
            return process.pid
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                if int(stat.read_text().rpartition(")")[2].split()[1]) == process.pid:
                    return int(stat.parent.name)
        return process.pid

    def memory(self) -> dict[str, dict[str, float]]:
        out = {}
        for name, process in self.processes.items():
            current, hwm = rss_mib(self._python_pid(process))
            out[name] = {"rss": current, "peak_sampled": self.peak_rss.get(name, current)}
            out[name]["hwm"] = hwm
        return out

    def cpu(self) -> dict[str, float]:
        return {name: cpu_seconds(self._python_pid(p)) for name, p in self.processes.items()}

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGINT if self.profile else signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def wait_ready(cluster: Cluster, port: int, within: float = 180.0) -> None:
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            cluster.check_alive()
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"http://127.0.0.1:{port}/readyz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise RuntimeError("service did not become ready\n" + cluster.log_tail())


async def wait_consumers(redis_url: str, count: int, cluster: Cluster) -> None:
    """Wait until ``count`` router workers (plus the serve process) listen for results.

    Every okno process with a Redis queue subscribes to the results channel before it starts
    consuming; a consumer-group member shows only after its first delivery.
    """
    redis = Redis.from_url(redis_url)
    try:
        for _ in range(600):
            cluster.check_alive()
            channels = await redis.pubsub_channels("okno:intake:results*")
            listening = sum(n for _, n in await redis.pubsub_numsub(*channels)) if channels else 0
            if listening >= count + 1:
                return
            await asyncio.sleep(0.1)
        raise RuntimeError("router workers did not start\n" + cluster.log_tail())
    finally:
        await redis.aclose()


async def sample_memory(cluster: Cluster, stop: asyncio.Event) -> None:
    while not stop.is_set():
        cluster.sample_rss()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=0.5)


# -- databases -------------------------------------------------------------------------------


async def flush_redis(url: str) -> None:
    redis = Redis.from_url(url)
    await redis.flushdb()
    await redis.aclose()


async def verify(database_url: str, sent: int) -> dict[str, Any]:
    """Tickets == acknowledgement outbox rows == inbox rows == messages sent, all routed."""
    engine = create_engine(DatabaseSettings(url=database_url))
    try:
        for _ in range(300):  # answers that said "queued" finish routing in the background
            async with engine.connect() as conn:
                pending = await conn.scalar(
                    select(func.count()).where(InboundMessageRow.state != "done")
                )
            if not pending:
                break
            await asyncio.sleep(0.1)
        async with engine.connect() as conn:

            async def count(model: Any, *where: Any) -> int:
                found = await conn.scalar(select(func.count()).select_from(model).where(*where))
                return int(found or 0)

            found = {
                "sent": sent,
                "inbox": await count(InboundMessageRow),
                "inbox_not_done": await count(
                    InboundMessageRow, InboundMessageRow.state != "done"
                ),
                "tickets": await count(TicketRow),
                "acknowledgements": await count(
                    OutboxRow, OutboxRow.template == "acknowledgement"
                ),
                "comments": await count(CommentRow),
            }
    finally:
        await engine.dispose()
    found["ok"] = (
        found["inbox_not_done"] == 0
        and sent == found["inbox"] == found["tickets"] == found["acknowledgements"]
    )
    return found


# -- the ceiling: the same rows with SQLAlchemy Core -----------------------------------------


def ceiling_rows(index: int, run: str, now: datetime) -> dict[str, dict[str, Any]]:
    email = f"ceiling.{index}.{run}@example.ru"
    payload = {"channel": "api", "external_id": f"c-{run}-{index}", "text": "Не печатает принтер"}
    return {
        "contact": {"name": "Анна Иванова", "locale": "ru", "timezone": "Europe/Moscow",
                    "vip": False, "created_at": now},
        "identity": {"kind": "email", "value": email, "verified": False, "unreachable": False},
        "ticket": {"subject": "Не печатает принтер", "type": "incident", "tags": [],
                   "classified": False, "impact": 3, "urgency": 3, "priority": "medium",
                   "status": "new", "origin_channel": "api", "reply_channel": "email",
                   "reply_address": email, "fingerprint": ["принтер", "печата"],
                   "status_token_hash": hashlib.sha256(f"{run}{index}".encode()).hexdigest(),
                   "created_at": now, "updated_at": now},
        "inbound": {"channel": "api", "external_id": payload["external_id"], "payload": payload,
                    "state": "done", "outcome": "created", "attempts": 1, "received_at": now,
                    "processed_at": now},
        "comment": {"author_kind": "requester", "author_name": "Анна Иванова", "public": True,
                    "body": payload["text"], "channel": "api", "created_at": now},
        "event": {"kind": "created", "actor": "Анна Иванова", "created_at": now,
                  "data": {"channel": "api", "priority_reason": None, "rule": None}},
        "outbox": {"idempotency_key": f"acknowledgement:ack:{run}{index}", "channel": "email",
                   "address": email, "template": "acknowledgement", "locale": "ru",
                   "timezone": "Europe/Moscow", "state": "pending", "attempts": 0,
                   "next_attempt_at": now, "created_at": now,
                   "payload": {"ticket_number": index, "subject": "Не печатает принтер"}},
    }  # fmt: skip


TABLES = {
    name: cast("Table", model.__table__)
    for name, model in {
        "contact": ContactRow,
        "identity": IdentityRow,
        "ticket": TicketRow,
        "inbound": InboundMessageRow,
        "comment": CommentRow,
        "event": TicketEventRow,
        "outbox": OutboxRow,
    }.items()
}
# Built once and executed with parameters: the compiled form is cached, as a careful hand-written
# Core writer would do it.
STATEMENTS = {
    name: insert(table).returning(table.c.id)
    if name in {"contact", "ticket", "inbound"}
    else insert(table)
    for name, table in TABLES.items()
}


async def ceiling_one(engine: AsyncEngine, index: int, run: str) -> None:
    rows = ceiling_rows(index, run, datetime.now(UTC))
    async with engine.begin() as conn:
        contact_id = await conn.scalar(STATEMENTS["contact"], rows["contact"])
        await conn.execute(STATEMENTS["identity"], {"contact_id": contact_id, **rows["identity"]})
        ticket_id = await conn.scalar(
            STATEMENTS["ticket"], {"requester_id": contact_id, **rows["ticket"]}
        )
        inbound_id = await conn.scalar(
            STATEMENTS["inbound"], {"ticket_id": ticket_id, **rows["inbound"]}
        )
        await conn.execute(
            STATEMENTS["comment"],
            {"ticket_id": ticket_id, "inbound_id": inbound_id, **rows["comment"]},
        )
        for name in ("event", "outbox"):
            await conn.execute(STATEMENTS[name], {"ticket_id": ticket_id, **rows[name]})


async def ceiling(database_url: str, count: int, concurrency: int) -> dict[str, Any]:
    """Messages per second when only the database work is left (7 inserts, 1 commit each)."""
    pool = max(1, concurrency)
    engine = create_engine(DatabaseSettings(url=database_url, pool_size=pool))
    run = uuid.uuid4().hex[:8]
    indexes = iter(range(count))
    lock = asyncio.Lock() if engine.dialect.name == "sqlite" else contextlib.nullcontext()

    async def worker() -> None:
        for index in indexes:
            async with lock:  # SQLite: one writer, as in the service
                await ceiling_one(engine, index, run)

    try:
        await ceiling_one(engine, -1, run)  # connect and warm the statement cache
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    finally:
        await engine.dispose()
    return {
        "messages": count,
        "concurrency": concurrency,
        "seconds": round(seconds, 3),
        "msgs_per_s": round(count / seconds, 1),
        "rows_per_s": round(7 * count / seconds, 1),
    }


# -- scenarios -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    name: str
    backend: str  # sqlite | postgres
    router_workers: int  # 0: the router runs inside `okno serve`


SCENARIOS = {
    "sqlite": Scenario("sqlite", "sqlite", 0),
    "pg-inproc": Scenario("pg-inproc", "postgres", 0),
    "pg-w1": Scenario("pg-w1", "postgres", 1),
    "pg-w2": Scenario("pg-w2", "postgres", 2),
}


def service_env(
    database_url: str, redis_url: str | None, port: int, workdir: Path
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKNO_")}
    env |= {
        "OKNO_DATABASE_URL": database_url,
        "OKNO_HTTP__PORT": str(port),
        "OKNO_HTTP__PUBLIC_URL": f"http://127.0.0.1:{port}",
        "OKNO_SECRET_KEY": SECRET,
        "OKNO_DATA_DIR": str(workdir / "var"),
        "OKNO_STORAGE__ATTACHMENTS_DIR": str(workdir / "attachments"),
    }
    if redis_url:
        env["OKNO_REDIS_URL"] = redis_url
    return env


@contextlib.asynccontextmanager
async def database_for(
    scenario: Scenario, args: argparse.Namespace, workdir: Path
) -> AsyncIterator[str]:
    if scenario.backend == "sqlite":
        yield f"sqlite+aiosqlite:///{workdir / 'okno.db'}"
    else:
        await flush_redis(args.redis_url)
        async with scratch_postgres(args.pg_admin_url, "okno_bench", migrate=False) as url:
            yield url


async def run_scenario(
    scenario: Scenario, args: argparse.Namespace, messages: Messages
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"okno-bench-{scenario.name}-") as tmp:
        workdir = Path(tmp)
        async with database_for(scenario, args, workdir) as database_url:
            redis_url = args.redis_url if scenario.backend == "postgres" else None
            port = free_port()
            env = service_env(database_url, redis_url, port, workdir)
            profile = Path(args.profile) / scenario.name if args.profile else None
            cluster = Cluster(env, workdir, profile)
            cluster.run("migrate")
            token = cluster.run("token", "create", "bench").strip().splitlines()[-1]
            try:
                return await drive(
                    scenario,
                    args,
                    messages=messages,
                    cluster=cluster,
                    port=port,
                    token=token,
                    database_url=database_url,
                )
            finally:
                cluster.stop()


async def drive(
    scenario: Scenario,
    args: argparse.Namespace,
    *,
    messages: Messages,
    cluster: Cluster,
    port: int,
    token: str,
    database_url: str,
) -> dict[str, Any]:
    if scenario.router_workers:
        cluster.start("serve", "serve", "--roles", "http,notify")
        for n in range(scenario.router_workers):
            cluster.start(f"router-{n + 1}", "worker", "router")
    else:
        cluster.start("serve", "serve")
    await wait_ready(cluster, port)
    if scenario.router_workers:
        await wait_consumers(cluster.env["OKNO_REDIS_URL"], scenario.router_workers, cluster)
    idle_memory = cluster.memory()
    url = f"http://127.0.0.1:{port}/api/v1/messages"
    warm = [messages.body("warm", i) for i in range(args.warmup)]
    closed = [messages.body("closed", i) for i in range(args.count)]
    opened = [messages.body("open", i) for i in range(int(args.rate * args.duration))]
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_memory(cluster, stop))
    try:
        await closed_loop(url, token, warm, min(args.concurrency, 8))
        cpu_before = cluster.cpu()
        started = time.perf_counter()
        tally = await closed_loop(url, token, closed, args.concurrency)
        seconds = time.perf_counter() - started
        cpu_used = {name: used - cpu_before[name] for name, used in cluster.cpu().items()}
        await asyncio.sleep(1.0)
        open_started = time.perf_counter()
        open_tally = await open_loop(url, token, opened, args.rate)
        open_seconds = time.perf_counter() - open_started
        cluster.check_alive()
    finally:
        stop.set()
        await sampler
    memory = cluster.memory()
    checked = await verify(database_url, len(warm) + len(closed) + len(opened))
    return {
        "name": scenario.name,
        "backend": scenario.backend,
        "router_workers": scenario.router_workers,
        "closed_loop": {
            "messages": len(closed),
            "concurrency": args.concurrency,
            "seconds": round(seconds, 3),
            "outcomes": dict(tally.outcomes),
            "created_per_s": round(tally.created / seconds, 1),
            # CPU the okno processes spent per message: steadier than throughput on a shared
            # machine, and where the time goes between HTTP and router processes.
            "cpu_ms_per_msg": {
                name: round(1000 * used / max(1, len(closed)), 3)
                for name, used in cpu_used.items()
            },
            "latency_ms": latency_summary(tally.latencies),
        },
        "open_loop": {
            "rate": args.rate,
            "messages": len(opened),
            "seconds": round(open_seconds, 3),
            "outcomes": dict(open_tally.outcomes),
            "latency_ms": latency_summary(open_tally.latencies),
        },
        "memory_mib": memory,
        "rss_idle_total_mib": round(sum(m["rss"] for m in idle_memory.values()), 1),
        "rss_total_mib": round(sum(m["peak_sampled"] for m in memory.values()), 1),
        "verify": checked,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def best_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """On a shared machine the best run is the least disturbed one: report it, list them all.

    Throughput and its closed-loop latencies come from the fastest run; the open-loop latency
    from the run with the lowest p99. Every run must verify.
    """
    fastest = max(runs, key=lambda run: run["closed_loop"]["created_per_s"])
    steadiest = min(runs, key=lambda run: run["open_loop"]["latency_ms"]["p99"])
    best = {**fastest, "open_loop": steadiest["open_loop"]}
    best["verify"] = {**fastest["verify"], "ok": all(run["verify"]["ok"] for run in runs)}
    best["runs"] = [
        {
            "created_per_s": run["closed_loop"]["created_per_s"],
            "open_p50_ms": run["open_loop"]["latency_ms"]["p50"],
            "open_p99_ms": run["open_loop"]["latency_ms"]["p99"],
            "load_average": run["load_average"],
            "verified": run["verify"]["ok"],
        }
        for run in runs
    ]
    return best


def summary_table(results: dict[str, Any]) -> str:
    lines = [
        f"{'scenario':<10} {'workers':>7} {'msgs/s':>8} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'ceiling/s':>9} {'ratio':>6} {'RSS MiB':>8} ok"
    ]
    for item in results["scenarios"]:
        ceil = results["ceiling"].get(item["backend"], {}).get("msgs_per_s", float("nan"))
        lat = item["open_loop"]["latency_ms"]
        lines.append(
            f"{item['name']:<10} {item['router_workers']:>7} "
            f"{item['closed_loop']['created_per_s']:>8.1f} {lat['p50']:>7.1f} {lat['p99']:>7.1f} "
            f"{ceil:>9.1f} {item.get('ratio', float('nan')):>6.2f} "
            f"{item['rss_total_mib']:>8.1f} {item['verify']['ok']}"
        )
    return "\n".join(lines)


async def main(args: argparse.Namespace) -> dict[str, Any]:
    messages = Messages()
    names = [n.strip() for n in args.scenarios.split(",") if n.strip()]
    results: dict[str, Any] = {
        "benchmark": "intake",
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "settings": {k: v for k, v in vars(args).items() if k != "output"},
        "floors": FLOORS,
        "scenarios": [],
        "ceiling": {},
    }
    for name in names:
        print(f"intake bench: {name} …", file=sys.stderr, flush=True)
        runs = []
        for attempt in range(args.repeat):
            try:
                runs.append(await run_scenario(SCENARIOS[name], args, messages))
            except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
                print(f"intake bench: {name} failed: {exc}", file=sys.stderr, flush=True)
                results.setdefault("failed", {})[f"{name}#{attempt + 1}"] = str(exc)[-2000:]
        if runs:
            results["scenarios"].append(best_of(runs))
    if not args.no_ceiling:
        for backend in sorted({SCENARIOS[n].backend for n in names}):
            print(f"intake bench: ceiling on {backend} …", file=sys.stderr, flush=True)
            if backend == "sqlite":
                with tempfile.TemporaryDirectory(prefix="okno-bench-ceiling-") as tmp:
                    url = f"sqlite+aiosqlite:///{Path(tmp) / 'okno.db'}"
                    await migrate(url)
                    results["ceiling"]["sqlite"] = await ceiling(url, args.count, 1)
            else:
                async with scratch_postgres(args.pg_admin_url, "okno_bench", migrate=False) as url:
                    await migrate(url)
                    results["ceiling"]["postgres"] = await ceiling(
                        url, args.count, args.ceiling_concurrency
                    )
    for item in results["scenarios"]:
        ceil = results["ceiling"].get(item["backend"])
        if ceil:
            item["ratio"] = round(item["closed_loop"]["created_per_s"] / ceil["msgs_per_s"], 3)
    return results


async def migrate(url: str) -> None:
    from ticketing.migrate import upgrade  # noqa: PLC0415

    engine = create_engine(DatabaseSettings(url=url))
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--scenarios",
        default="sqlite,pg-w1,pg-w2",
        help=f"comma-separated, of {', '.join(SCENARIOS)} (default: %(default)s)",
    )
    parser.add_argument("--count", type=int, default=3000, help="closed-loop messages")
    parser.add_argument("--concurrency", type=int, default=32, help="closed-loop clients")
    parser.add_argument("--warmup", type=int, default=100, help="untimed messages first")
    parser.add_argument("--rate", type=float, default=100.0, help="open-loop messages/s")
    parser.add_argument("--duration", type=float, default=10.0, help="open-loop seconds")
    parser.add_argument(
        "--ceiling-concurrency",
        type=int,
        default=16,
        help="PostgreSQL ceiling transactions in flight (SQLite: 1)",
    )
    parser.add_argument("--no-ceiling", action="store_true", help="skip the Core ceiling")
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs per scenario; the best is reported"
    )
    parser.add_argument(
        "--pg-admin-url",
        default=os.environ.get(
            "OKNO_BENCH_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
        ),
        help="where scratch databases are created (env OKNO_BENCH_PG_URL)",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("OKNO_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
        help="a Redis db this bench may flush (env OKNO_BENCH_REDIS_URL)",
    )
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="run every okno process under `uvx py-spy record --format raw` "
        "(or cProfile with OKNO_BENCH_PROFILER=cprofile)",
    )
    parser.add_argument("--output", default=str(ROOT / "bench" / "results" / "intake.json"))
    args = parser.parse_args(argv)
    unknown = [n for n in args.scenarios.split(",") if n.strip() and n.strip() not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(unknown)}")
    return args  # fmt: skip


def run_cli() -> int:
    args = parse_args()
    results = asyncio.run(main(args))
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    document = json.dumps(results, indent=2, ensure_ascii=False)
    output.write_text(document + "\n")
    print(document)
    print(summary_table(results), file=sys.stderr)
    verified = all(item["verify"]["ok"] for item in results["scenarios"])
    return 0 if verified and not results.get("failed") else 1


if __name__ == "__main__":
    sys.exit(run_cli())
