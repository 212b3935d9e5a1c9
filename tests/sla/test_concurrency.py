"""Two escalators at once (two engines on PostgreSQL): every timer still fires exactly once."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

from sqlalchemy import select

from okno.settings import Settings
from okno.wire_sla import escalator_for
from sla.escalator import Escalator
from sla.policy import SlaPolicy
from tests.conftest import BACKEND
from tests.sla.conftest import Clock, Desk, office_sla, open_desk, with_sla
from ticketing.db import Database
from ticketing.domain import Status
from ticketing.models import OutboxRow, TicketEventRow

TICKETS = 40


async def drain(escalator: Escalator) -> int:
    total = 0
    while claimed := await escalator.tick():
        total += claimed
        await asyncio.sleep(0)  # let the other escalator interleave
    return total


async def test_two_escalators_send_each_reminder_once_when_ticking_together(
    settings: Settings, clock: Clock
) -> None:
    sla = office_sla(batch_size=3)
    async for desk in open_desk(with_sla(settings, sla), clock):
        await run_two(desk, sla_settings=with_sla(settings, sla))


async def run_two(desk: Desk, sla_settings: Settings) -> None:
    numbers = [
        await desk.submit(f"Не работает место {i}", email=f"u{i}@example.ru")
        for i in range(TICKETS)
    ]
    desk.clock.advance(timedelta(minutes=5))
    async with desk.okno.db.transaction() as session:
        for number in numbers[::2]:
            await desk.okno.tickets.change_status(
                session, number, Status.WAITING, actor="anna", now=desk.clock()
            )
    # Monday 15:00 MSK: every ticket's reaction is past 100 %, half are waiting past 4 h.
    desk.clock.advance(timedelta(hours=6))
    # On PostgreSQL the second escalator has its own engine and connections, as a second
    # process would; SQLite has one writer, so both share the database's write lock there.
    second_db = Database(sla_settings.database) if BACKEND == "postgres" else desk.okno.db
    try:
        second = escalator_for(desk.okno, SlaPolicy(sla_settings.sla))
        second._db = second_db
        counts = await asyncio.gather(*(drain(e) for e in (desk.escalator, second)))
    finally:
        if second_db is not desk.okno.db:
            await second_db.dispose()

    assert sum(counts) >= TICKETS
    if BACKEND == "postgres":
        assert all(counts)  # both took a share
    async with desk.okno.db.read() as session:
        reminders = Counter(
            (row.ticket_id, row.template)
            for row in await session.scalars(
                select(OutboxRow).where(OutboxRow.template == "still_waiting")
            )
        )
        events = Counter(
            (row.ticket_id, row.kind, row.data.get("key"))
            for row in await session.scalars(
                select(TicketEventRow).where(TicketEventRow.kind.startswith("sla_"))
            )
        )
    assert reminders == {(n, "still_waiting"): 1 for n in numbers[::2]}
    assert all(count == 1 for count in events.values())
    breaches = {n for n, kind, _ in events if kind == "sla_breach"}
    assert breaches == set(numbers[1::2])  # the waiting ones reacted (they left "new")
