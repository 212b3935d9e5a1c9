"""The call policy without HTTP: live state, configuration, and a crash before routing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from channels.base import InboundMessage
from channels.phone.events import CallDirection, CallEvent, CallFacts, CallResult
from okno.app import Okno
from router.calls import CallLog, CallPolicy
from ticketing.domain import IntakeResult
from ticketing.models import InboundMessageRow
from ticketing.rows_phone import CallRow


def call(key: str, *, result: CallResult, number: str = "+79121234567") -> CallEvent:
    started = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
    answered = result is CallResult.ANSWERED
    return CallEvent(
        source="api",
        call_key=key,
        event_key="record:1",
        kind="record",
        facts=CallFacts(
            direction=CallDirection.IN,
            result=result,
            number=number,
            number_raw=number,
            started_at=started,
            answered_at=started.replace(second=5) if answered else None,
            ended_at=started.replace(minute=3),
            agent="102" if answered else None,
        ),
    )


def call_log(okno: Okno, *, open_ticket_on_answered: bool = False) -> CallLog:
    return CallLog(
        db=okno.db,
        intake=okno.intake.accept,
        tickets=okno.tickets,
        policy=CallPolicy(open_ticket_on_answered=open_ticket_on_answered),
        now=okno.now,
    )


async def test_an_answered_call_opens_a_ticket_when_configured(okno: Okno) -> None:
    outcome = await call_log(okno, open_ticket_on_answered=True).handle(
        call("a-1", result=CallResult.ANSWERED)
    )
    assert outcome.outcome == "created"
    assert outcome.ticket_number is not None
    async with okno.db.read() as session:
        ticket = await okno.tickets.load(session, outcome.ticket_number)
        assert ticket.subject == "Звонок от +7 912 123-45-67"
        # Nobody needs calling back after a conversation.
        assert await okno.tickets.callback_status(session, ticket.id) == (False, 0)


async def test_busy_and_failed_inbound_calls_also_ask_for_a_call_back(okno: Okno) -> None:
    log = call_log(okno)
    busy = await log.handle(call("b-1", result=CallResult.BUSY))
    failed = await log.handle(call("b-2", result=CallResult.FAILED))
    assert busy.outcome == "created"
    assert (failed.outcome, failed.ticket_number) == ("logged", busy.ticket_number)
    assert busy.ticket_number is not None
    async with okno.db.read() as session:
        assert await okno.tickets.callback_status(session, busy.ticket_number) == (True, 0)


async def test_a_crash_between_storing_the_call_and_routing_it_loses_nothing(
    okno: Okno,
) -> None:
    async def crash(message: InboundMessage) -> IntakeResult:
        raise ConnectionError("the process died before the router saw it")

    crashed = CallLog(
        db=okno.db, intake=crash, tickets=okno.tickets, policy=CallPolicy(), now=okno.now
    )
    with pytest.raises(ConnectionError):
        await crashed.handle(call("c-1", result=CallResult.MISSED))
    # The decision and the message committed together; the router's recovery finds it.
    await okno.router.recover(older_than=okno.now() - okno.now())
    for _ in range(100):
        async with okno.db.read() as session:
            row = (await session.scalars(select(CallRow))).one()
        if row.state == "linked":
            break
        await asyncio.sleep(0.05)
    assert (row.state, row.outcome) == ("linked", "created")
    again = await call_log(okno).handle(call("c-1", result=CallResult.MISSED))
    assert (again.outcome, again.ticket_number) == ("created", row.ticket_id)


class _DeadlockError(Exception):
    sqlstate = "40P01"


async def test_a_deadlock_victim_is_retried(okno: Okno, monkeypatch: pytest.MonkeyPatch) -> None:
    log = call_log(okno)
    original = log._record
    failures = [DBAPIError("UPDATE call", {}, _DeadlockError())]

    async def flaky(session: AsyncSession, event: CallEvent) -> Any:
        if failures:
            raise failures.pop()
        return await original(session, event)

    monkeypatch.setattr(log, "_record", flaky)
    outcome = await log.handle(call("d-1", result=CallResult.MISSED))
    assert (outcome.outcome, failures) == ("created", [])


async def test_a_call_whose_routing_failed_for_good_does_not_hold_up_the_next(
    okno: Okno,
) -> None:
    async def crash(message: InboundMessage) -> IntakeResult:
        raise ConnectionError("gone")

    crashed = CallLog(
        db=okno.db, intake=crash, tickets=okno.tickets, policy=CallPolicy(), now=okno.now
    )
    with pytest.raises(ConnectionError):
        await crashed.handle(call("f-1", result=CallResult.MISSED))
    async with okno.db.transaction() as session:
        # As if routing it had failed five times: kept for `okno replay`, not routed.
        await session.execute(update(InboundMessageRow).values(state="failed"))
    outcome = await call_log(okno).handle(call("f-2", result=CallResult.MISSED))
    assert outcome.outcome == "created"
