"""MailIntake on its own: the per-message time limit and what goes to the quarantine."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

from channels.base import InboundMessage
from channels.email.processing import MailIntake
from channels.email.settings import EmailSettings
from ticketing.domain import IntakeOutcome, IntakeResult

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
RAW = b"From: a@example.ru\r\nSubject: s\r\nMessage-ID: <t@example.ru>\r\n\r\nbody\r\n"


class NullStore:
    """Only what ingest() touches: reachability bookkeeping."""

    def __init__(self) -> None:
        self.cleared: list[str] = []

    async def clear_undeliverable(self, address: str) -> None:
        self.cleared.append(address)

    async def mark_undeliverable(self, address: str, reason: str, now: datetime) -> None:
        raise AssertionError("not a bounce")

    async def replays_due(self, limit: int) -> Sequence[object]:
        return []


def intake(timeout: float) -> tuple[MailIntake, NullStore]:
    store = NullStore()
    settings = EmailSettings(enabled=True, message_timeout_seconds=timeout)
    mail = MailIntake(
        settings,
        store=store,  # type: ignore[arg-type]  # partial: ingest needs two methods
        now=lambda: NOW,
        max_attachment_bytes=1024,
        reject=None,
    )
    return mail, store


async def test_a_message_over_its_time_limit_is_reported_for_the_quarantine() -> None:
    mail, _ = intake(0.05)

    async def slow(message: InboundMessage) -> IntakeResult:
        await asyncio.sleep(1)
        return IntakeResult(outcome=IntakeOutcome.CREATED, ticket_number=1)

    error = await mail.ingest(RAW, slow)
    assert error is not None
    assert "not processed within" in error


async def test_a_failing_intake_is_reported_and_a_good_one_clears_the_address() -> None:
    mail, store = intake(5)

    async def broken(message: InboundMessage) -> IntakeResult:
        raise RuntimeError("database away")

    assert await mail.ingest(RAW, broken) == "RuntimeError: database away"

    async def fine(message: InboundMessage) -> IntakeResult:
        return IntakeResult(outcome=IntakeOutcome.CREATED, ticket_number=1)

    assert await mail.ingest(RAW, fine) is None
    assert store.cleared == ["a@example.ru"]
