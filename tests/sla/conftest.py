"""SLA fixtures: an injected clock, and okno built with SLA on over the suite's backend."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import select

from channels.base import InboundMessage, Sender
from okno.app import Okno, build, run_router
from okno.settings import Settings
from okno.wire_sla import escalator_for
from sla.escalator import Escalator
from sla.policy import SlaPolicy
from sla.settings import SlaSettings
from ticketing.domain import ChannelKind, ReplyAddress, Ticket
from ticketing.models import OutboxRow, TicketEventRow
from ticketing.repository import TicketRepository
from ticketing.sla_store import SlaRecord, load

# Monday 2 March 2026, 09:00 in Moscow (UTC+3): a plain working week follows.
MONDAY_9 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


class Clock:
    """The injected ``now``: moves only when a test moves it."""

    def __init__(self, start: datetime = MONDAY_9) -> None:
        self.value = start

    def __call__(self) -> datetime:
        return self.value

    def advance(self, delta: timedelta) -> None:
        self.value += delta

    def set(self, moment: datetime) -> None:
        self.value = moment


@pytest.fixture
def clock() -> Clock:
    return Clock()


def office_sla(**changes: Any) -> SlaSettings:
    """Mon–Fri 09:00–18:00 Moscow, lunch 13–14, RU holidays; medium: 4h reaction, 2d resolution;
    still-waiting after 4h, auto-resolve after 2d; rating request after 2h, auto-close 1d."""
    data: dict[str, Any] = {
        "enabled": True,
        "calendars": [
            {
                "id": "office",
                "timezone": "Europe/Moscow",
                "hours": {"mon-fri": ["09:00-18:00"]},
                "breaks": ["13:00-14:00"],
            }
        ],
        "base": {
            "id": "base",
            "calendar": "office",
            "requester": {
                "still_waiting_after": "4h",
                "auto_resolve_after": "2d",
                "rating_request_after": "2h",
                "auto_close_after": "1d",
            },
        },
        "supervisors": ["olga"],
    }
    data.update(changes)
    return SlaSettings.model_validate(data)


def with_sla(settings: Settings, sla: SlaSettings) -> Settings:
    teams = [team.model_copy(update={"lead": "lena"}) for team in settings.teams]
    return settings.model_copy(update={"sla": sla, "teams": teams})


class Desk:
    """okno with SLA on, the router running, and the escalator at hand."""

    def __init__(self, okno: Okno, clock: Clock, escalator: Escalator) -> None:
        self.okno = okno
        self.clock = clock
        self.escalator = escalator

    async def submit(
        self, text: str = "Не печатает принтер", *, email: str = "ivanov@example.ru", **kw: Any
    ) -> int:
        result = await self.okno.intake.accept(
            InboundMessage(
                channel=kw.pop("channel", ChannelKind.API),
                external_id=uuid.uuid4().hex,
                sender=Sender(name="Иван Иванов", email=email),
                subject=kw.pop("subject", "Принтер"),
                text=text,
                reply_to=kw.pop(
                    "reply_to", ReplyAddress(channel=ChannelKind.EMAIL, address=email)
                ),
                received_at=self.clock(),
                **kw,
            )
        )
        assert result.ticket_number is not None
        return result.ticket_number

    async def ticket(self, number: int) -> Ticket:
        async with self.okno.db.read() as session:
            ticket = await TicketRepository(session).get(number)
        assert ticket is not None
        return ticket

    async def sla(self, number: int) -> SlaRecord:
        async with self.okno.db.read() as session:
            return (await load(session, [number]))[number]

    async def outbox(self, number: int) -> list[tuple[str, str, str]]:
        """(template, channel, address) of the ticket's outbox rows, in order."""
        async with self.okno.db.read() as session:
            rows = await session.scalars(
                select(OutboxRow).where(OutboxRow.ticket_id == number).order_by(OutboxRow.id)
            )
            return [(r.template, r.channel, r.address) for r in rows]

    async def events(self, number: int, prefix: str = "sla") -> list[tuple[str, dict[str, Any]]]:
        async with self.okno.db.read() as session:
            rows = await session.scalars(
                select(TicketEventRow)
                .where(TicketEventRow.ticket_id == number, TicketEventRow.kind.startswith(prefix))
                .order_by(TicketEventRow.id)
            )
            return [(r.kind, dict(r.data)) for r in rows]

    async def at(self, moment: datetime) -> int:
        """Move the clock to ``moment`` and tick until nothing is due; timers acted on."""
        self.clock.set(moment)
        total = 0
        while claimed := await self.escalator.tick():
            total += claimed
        return total


async def open_desk(settings: Settings, clock: Clock) -> AsyncIterator[Desk]:
    async with build(settings, now=clock, metrics_registry=CollectorRegistry()) as okno:
        stop = asyncio.Event()
        task = asyncio.create_task(run_router(okno, stop))
        try:
            yield Desk(okno, clock, escalator_for(okno, SlaPolicy(settings.sla)))
        finally:
            stop.set()
            await asyncio.wait_for(task, timeout=10)


@pytest.fixture
async def desk(settings: Settings, clock: Clock) -> AsyncIterator[Desk]:
    async for opened in open_desk(with_sla(settings, office_sla()), clock):
        yield opened
