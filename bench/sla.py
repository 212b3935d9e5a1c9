"""SLA escalator tick cost at 1k, 10k and 100k open tickets (100 of them due), and the cost of
recomputing every open ticket after a calendar change.

Each size gets a scratch database (PostgreSQL: a database created on ``--admin-url`` and
dropped afterwards; SQLite: a temp file), migrated, then filled with bulk Core inserts: one
requester, N open tickets with their ``ticket_sla`` rows, of which 100 have their next timer
(the reaction's 75 % warning) due now and the rest in the future. A tick is the real thing
(okno built from settings, :class:`~sla.escalator.Escalator`): claim the due rows, record the
warnings as events and notices through the enricher and the requester's planner, and
reschedule. Between timed ticks the same 100 rows are made due again (not timed).

    .venv/bin/python -P bench/sla.py                        # PostgreSQL, 1k/10k/100k
    .venv/bin/python -P bench/sla.py --backend sqlite --sizes 1000,10000

JSON goes to stdout and ``bench/results/sla.json``; the pass/fail of the floors is in it.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry
from pydantic import SecretStr
from sqlalchemy import insert, text, update

from okno.app import build, freeze_startup_heap, run_service_loop
from okno.settings import Settings
from okno.wire_sla import escalator_for
from sla.policy import SlaPolicy, TicketFacts
from sla.recompute import Recompute
from sla.records import record_from_state
from sla.settings import SlaSettings
from sla.tracker import track
from tests.fakes.scratch_db import scratch_postgres
from ticketing import sla_store
from ticketing.db import Database, DatabaseSettings
from ticketing.domain import ChannelKind, Contact, Priority, Status, Ticket, TicketType
from ticketing.migrate import upgrade
from ticketing.models import ContactRow, TicketRow
from ticketing.rows_sla import TicketSlaRow

ROOT = Path(__file__).resolve().parent.parent
DUE = 100
CHUNK = 5000
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # Monday 12:00 in Moscow
FLOORS = {"ratio_100k_to_1k": 2.0, "tick_ms_at_100k_postgres": 20.0}


class Clock:
    def __init__(self) -> None:
        self.value = NOW

    def __call__(self) -> datetime:
        return self.value


def sla_settings(breaks: str = "13:00-14:00") -> SlaSettings:
    return SlaSettings.model_validate(
        {
            "enabled": True,
            "batch_size": 500,
            "calendars": [{"id": "office", "breaks": [breaks]}],
        }
    )


@contextlib.asynccontextmanager
async def scratch(backend: str, admin_url: str) -> AsyncIterator[str]:
    """A migrated, empty database, removed afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as directory:
            url = f"sqlite+aiosqlite:///{directory}/bench.db"
            db = Database(DatabaseSettings(url=url))
            await upgrade(db.engine)
            await db.dispose()
            yield url
        return
    async with scratch_postgres(admin_url, "okno_bench_sla") as url:
        yield url


def sla_row(prototype: dict[str, Any], ticket_id: int, due: bool) -> dict[str, Any]:
    row = dict(prototype, ticket_id=ticket_id)
    if not due:
        # Spread the rest over the coming weeks, as a real queue's timers are.
        row["next_event_at"] = NOW + timedelta(days=1, seconds=ticket_id * 7 % 1_000_000)
    return row


async def fill(db: Database, size: int, policy: SlaPolicy) -> list[int]:
    """``size`` open tickets with SLA rows; returns the ids of the ``DUE`` due ones."""
    created = NOW - timedelta(hours=3, minutes=30)
    async with db.transaction() as session:
        contact_id = (
            await session.execute(
                insert(ContactRow)
                .values(name="Иван", locale="ru", timezone="Europe/Moscow", created_at=created)
                .returning(ContactRow.id)
            )
        ).scalar_one()
    ticket = Ticket(
        id=1,
        number=1,
        subject="s",
        type=TicketType.INCIDENT,
        priority=Priority.MEDIUM,
        status=Status.NEW,
        requester=Contact(id=contact_id, name="Иван", locale="ru", timezone="Europe/Moscow"),
        origin_channel=ChannelKind.EMAIL,
        reply_to=None,
        created_at=created,
        updated_at=created,
    )
    state = track(None, ticket, policy.plan_for(TicketFacts.of(ticket)), created)
    record = record_from_state(state)
    prototype = {
        c.name: getattr(record, c.name)
        for c in TicketSlaRow.__table__.c
        if c.name not in {"ticket_id", "updated_at"}
    }
    prototype["fired"] = []
    prototype["updated_at"] = created
    step = max(size // DUE, 1)
    due_ids = sorted({step * k for k in range(1, DUE + 1) if step * k <= size})
    for start in range(1, size + 1, CHUNK):
        ids = range(start, min(start + CHUNK, size + 1))
        tickets: list[dict[str, Any]] = [
            {
                "id": i,
                "subject": f"Заявка {i}",
                "type": "incident",
                "priority": "medium",
                "status": "new",
                "requester_id": contact_id,
                "origin_channel": "email",
                "reply_channel": "email",
                "reply_address": f"user{i}@example.ru",
                "tags": [],
                "fingerprint": [],
                "reaction_due_at": record.reaction_due_at,
                "resolution_due_at": record.resolution_due_at,
                "created_at": created,
                "updated_at": created,
            }
            for i in ids
        ]
        due = set(due_ids)
        async with db.transaction() as session:
            await session.execute(insert(TicketRow), tickets)
            await session.execute(
                insert(TicketSlaRow), [sla_row(prototype, i, i in due) for i in ids]
            )
    if db.dialect == "postgresql":
        async with db.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("SELECT setval('ticket_id_seq', :n)"), {"n": size})
            await conn.execute(text("ANALYZE"))
    return due_ids


async def make_due_again(db: Database, ids: list[int]) -> None:
    async with db.transaction() as session:
        await session.execute(
            update(TicketSlaRow)
            .where(TicketSlaRow.ticket_id.in_(ids))
            .values(next_event_at=NOW - timedelta(seconds=1), fired=[])
        )


async def claim_only(db: Database, now: datetime) -> float:
    """Milliseconds to find and lock the due rows (the part that could grow with the table),
    rolled back so the tick that follows finds them again."""
    started = time.perf_counter()
    async with db.sessionmaker() as session, session.begin():
        claimed = await sla_store.claim_due(session, now, 500)
        await session.rollback()
    assert len(claimed) == DUE, len(claimed)
    return (time.perf_counter() - started) * 1000


async def measure(
    backend: str,
    admin_url: str,
    size: int,
    repeats: int,
    *,
    profile: Path | None = None,
    recompute: bool = True,
) -> dict[str, Any]:
    async with scratch(backend, admin_url) as url:
        with tempfile.TemporaryDirectory() as directory:
            settings = Settings(
                database_url=url,
                secret_key=SecretStr("bench-" + "x" * 40),
                data_dir=Path(directory),
                sla=sla_settings(),
            )
            db = Database(settings.database)
            policy = SlaPolicy(settings.sla)
            started = time.perf_counter()
            due_ids = await fill(db, size, policy)
            fill_s = time.perf_counter() - started
            clock = Clock()
            async with build(settings, now=clock, metrics_registry=CollectorRegistry()) as okno:
                escalator = escalator_for(okno, policy)
                freeze_startup_heap()  # as `okno serve` does once started
                ticks, cpu, idle, claims = [], [], [], []
                load_before = os.getloadavg()[0]
                profiler = cProfile.Profile() if profile is not None else None
                for _ in range(repeats):
                    await make_due_again(db, due_ids)
                    claims.append(await claim_only(okno.db, clock()))
                    started, cpu_started = time.perf_counter(), time.process_time()
                    if profiler is not None:
                        profiler.enable()
                    claimed = await escalator.tick()
                    if profiler is not None:
                        profiler.disable()
                    ticks.append((time.perf_counter() - started) * 1000)
                    # This process's CPU only (the database server's is not in it): steadier
                    # than wall time on a shared machine.
                    cpu.append((time.process_time() - cpu_started) * 1000)
                    assert claimed == DUE, claimed
                    started = time.perf_counter()
                    assert await escalator.tick() == 0
                    idle.append((time.perf_counter() - started) * 1000)
                if profiler is not None and profile is not None:
                    profiler.dump_stats(profile.with_name(f"{profile.name}.{backend}.{size}"))
                result: dict[str, Any] = {
                    "open_tickets": size,
                    "due": DUE,
                    "fill_s": round(fill_s, 2),
                    "tick_ms_median": round(statistics.median(ticks), 2),
                    "tick_ms_min": round(min(ticks), 2),
                    "tick_ms_max": round(max(ticks), 2),
                    "tick_cpu_ms_median": round(statistics.median(cpu), 2),
                    "idle_tick_ms_median": round(statistics.median(idle), 2),
                    "claim_ms_median": round(statistics.median(claims), 2),
                    "load_average_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
                }
                if size >= 100_000 and recompute:
                    recomputer = Recompute(
                        db=okno.db,
                        policy=SlaPolicy(sla_settings(breaks="12:00-13:00")),
                        batch_size=settings.sla.recompute_batch_size,
                        now=clock,
                    )
                    started, cpu_started = time.perf_counter(), time.process_time()
                    count = await recomputer.run()
                    seconds = time.perf_counter() - started
                    result["recompute"] = {
                        "tickets": count,
                        "seconds": round(seconds, 2),
                        "cpu_seconds": round(time.process_time() - cpu_started, 2),
                        "tickets_per_s": round(count / seconds),
                        "load_average_1m": round(os.getloadavg()[0], 2),
                    }
            await db.dispose()
    return result


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument(
        "--admin-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    )
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument(
        "--profile",
        type=Path,
        help="cProfile the timed ticks; stats go to PROFILE.<backend>.<size> (pstats format)",
    )
    parser.add_argument("--no-recompute", action="store_true", help="skip the recompute at 100k")
    args = parser.parse_args()
    sizes = [int(part) for part in args.sizes.split(",")]
    runs = []
    for size in sizes:
        runs.append(
            await measure(
                args.backend,
                args.admin_url,
                size,
                args.repeats,
                profile=args.profile,
                recompute=not args.no_recompute,
            )
        )
        print(json.dumps(runs[-1]), file=sys.stderr)
    by_size = {run["open_tickets"]: run for run in runs}
    checks: dict[str, Any] = {}
    if 1000 in by_size and 100_000 in by_size:
        for measure_ in (
            "tick_ms_median",
            "tick_cpu_ms_median",
            "claim_ms_median",
            "idle_tick_ms_median",
        ):
            ratio = by_size[100_000][measure_] / by_size[1000][measure_]
            checks[f"ratio_100k_to_1k_{measure_}"] = round(ratio, 2)
        checks["flat"] = checks["ratio_100k_to_1k_tick_ms_median"] <= FLOORS["ratio_100k_to_1k"]
    if 100_000 in by_size and args.backend == "postgres":
        run = by_size[100_000]
        checks["claim_ok_at_100k"] = run["claim_ms_median"] <= FLOORS["tick_ms_at_100k_postgres"]
        checks["tick_ok_at_100k"] = run["tick_ms_median"] <= FLOORS["tick_ms_at_100k_postgres"]
    report = {
        "benchmark": "sla",
        "backend": args.backend,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "runs": runs,
        "floors": FLOORS,
        "checks": checks,
    }
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"sla-{args.backend}.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    run_service_loop(main())  # uvloop, as `okno serve` runs
