"""Through the running service (router and escalator as `okno serve` runs them), real time:
a 24x7 calendar with second-scale targets. The warning reaches the agents' side as a notice,
and the requester's reminder is queued for their own channel (a Telegram chat, an e-mail)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from channels.base import InboundMessage, Sender
from okno.app import Okno
from okno.settings import Settings
from sla.settings import SlaSettings
from tests.sla.conftest import with_sla
from ticketing.domain import ChannelKind, Notice, ReplyAddress, Status
from ticketing.models import OutboxRow

DEADLINE = 15.0


@pytest.fixture
def settings(settings: Settings) -> Settings:
    sla = SlaSettings.model_validate(
        {
            "enabled": True,
            "tick_seconds": 0.05,
            "base": {
                "id": "base",
                "calendar": "24x7",
                "rules": [],
                "default": {"reaction": "2s", "resolution": "30s"},
                "requester": {"still_waiting_after": "1s", "auto_resolve_after": None},
            },
        }
    )
    return with_sla(settings, sla)


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Poll ``check`` (the service runs on real time here) until it holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE
    while not await check():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def submit(okno: Okno, reply_to: ReplyAddress, email: str) -> int:
    result = await okno.intake.accept(
        InboundMessage(
            channel=ChannelKind.API,
            external_id=uuid.uuid4().hex,
            sender=Sender(name="Мария", email=email),
            subject="VPN",
            text="Не подключается VPN",
            reply_to=reply_to,
            received_at=datetime.now(UTC),
        )
    )
    assert result.ticket_number is not None
    return result.ticket_number


async def test_warning_reaches_agents_and_reminder_reaches_requester_when_running(
    okno: Okno,
) -> None:
    seen: list[Notice] = []

    async def agents_side(
        _session: AsyncSession, notices: Sequence[Notice], _now: datetime
    ) -> None:
        seen.extend(notices)

    okno.notice_sinks.append(agents_side)
    stop = asyncio.Event()
    escalator = asyncio.create_task(okno.runners["sla"](stop))
    try:
        chat = ReplyAddress(channel=ChannelKind.TELEGRAM, address="100500")
        mail = ReplyAddress(channel=ChannelKind.EMAIL, address="maria@example.ru")
        in_telegram = await submit(okno, chat, "maria@example.ru")
        by_mail = await submit(okno, mail, "petr@example.ru")

        async def warned() -> bool:
            return any(n.kind == "sla_warning" and n.ticket.number == in_telegram for n in seen)

        await eventually(warned, "the 75 % warning")
        warning = next(n for n in seen if n.kind == "sla_warning")
        assert warning.data["level"] == "warning"
        assert warning.data["clock"] == "reaction"

        async with okno.db.transaction() as session:
            for number in (in_telegram, by_mail):
                await okno.tickets.change_status(
                    session, number, Status.WAITING, actor="anna", now=datetime.now(UTC)
                )

        async def reminded() -> bool:
            async with okno.db.read() as session:
                rows = (
                    await session.scalars(
                        select(OutboxRow).where(OutboxRow.template == "still_waiting")
                    )
                ).all()
            return len(rows) == 2

        await eventually(reminded, "both reminders")
        async with okno.db.read() as session:
            rows = await session.scalars(
                select(OutboxRow).where(OutboxRow.template == "still_waiting")
            )
            where = {(r.ticket_id, r.channel, r.address) for r in rows}
        assert where == {
            (in_telegram, "telegram", "100500"),
            (by_mail, "email", "maria@example.ru"),
        }
    finally:
        stop.set()
        await asyncio.wait_for(escalator, timeout=10)
