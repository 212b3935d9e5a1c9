"""A calendar change recomputes the open tickets under it, in batches, and nothing else."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from okno.settings import Settings
from sla.policy import SlaPolicy
from sla.recompute import Recompute
from tests.sla.conftest import Clock, office_sla, open_desk, with_sla
from ticketing.domain import Status

MOSCOW = ZoneInfo("Europe/Moscow")


def msk(*args: int) -> datetime:
    return datetime(*args, tzinfo=MOSCOW).astimezone(UTC)  # type: ignore[arg-type, misc]


async def test_calendar_change_recomputes_open_tickets_when_restarted(
    settings: Settings, clock: Clock
) -> None:
    before = office_sla()
    async for desk in open_desk(with_sla(settings, before), clock):
        numbers = [await desk.submit(f"Проблема {i}", email=f"u{i}@example.ru") for i in range(7)]
        async with desk.okno.db.transaction() as session:
            await desk.okno.tickets.change_status(
                session, numbers[0], Status.CLOSED, actor="anna", now=clock()
            )
        assert (await desk.ticket(numbers[1])).resolution_due_at == msk(2026, 3, 3, 18)

        # The office now works 08:00–20:00 without a lunch break: a working day is 12 h.
        after = office_sla(calendars=[{"id": "office", "hours": {"mon-fri": ["08:00-20:00"]}}])
        recompute = Recompute(db=desk.okno.db, policy=SlaPolicy(after), batch_size=2, now=clock)

        assert await recompute.run() == 6  # the closed ticket is left alone
        assert await recompute.run() == 0
        ticket = await desk.ticket(numbers[1])
        # 2 business days = 24 h from Monday 09:00: Mon 11 h, Tue 12 h, Wed 08:00–09:00.
        assert ticket.resolution_due_at == msk(2026, 3, 4, 9)
        assert ticket.reaction_due_at == msk(2026, 3, 2, 13)
        assert (await desk.ticket(numbers[0])).resolution_due_at == msk(2026, 3, 3, 18)
