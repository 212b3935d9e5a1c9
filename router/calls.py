"""The call log (SPEC §6.4): what a finished call does to the tickets.

A missed inbound call opens a call-back ticket, unless the caller has an open ticket: then it
is logged there. An answered call is logged on the caller's open ticket (or opens one, if
configured); an outbound call is logged on the callee's open ticket; recordings follow their
call as links. New tickets go through the intake like any message, so identify, dedup,
classify, prioritise, route and notify all apply.

Events come out of order and twice. Each is stored once, and only the first definitive event
of a call (a Mango summary, a generic call record) decides, under a lock on the call row and
on the caller's number; ``call.state`` remembers the decision, so a redelivery repeats the
answer and changes nothing. A new ticket's message is written to the durable inbox in the
same transaction as that decision, so a crash before the router runs loses nothing (the
router's recovery queues it). The call learns its ticket in the router's own transaction,
through the notice sink :meth:`CallLog.on_notices`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from channels.base import InboundMessage, IntakeSink
from channels.phone.events import (
    CallDirection,
    CallEvent,
    CallFacts,
    CallOutcome,
)
from channels.phone.normalize import call_message
from channels.phone.texts import describe_call, recording_note
from ticketing import inbox
from ticketing.db import Database
from ticketing.domain import ChannelKind, IntakeOutcome, IntakeResult, Notice
from ticketing.phone_store import PhoneStore
from ticketing.rows_phone import CallRow
from ticketing.service import TicketService

logger = logging.getLogger(__name__)

#: Replies a requester reachable only by phone would never hear: the agents are asked to call.
REPLY_KINDS = frozenset({"public_reply", "waiting_for_you", "resolved"})

RETRIES = 3
RETRYABLE = frozenset({"40P01", "40001"})  # deadlock detected, serialization failure

_OUTCOMES = {
    IntakeOutcome.CREATED: "created",
    IntakeOutcome.APPENDED: "logged",
    IntakeOutcome.QUEUED: "queued",
    IntakeOutcome.IGNORED: "ignored",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class CallPolicy:
    """The choices ``phone`` settings make, and how call notes are worded (zone, language)."""

    open_ticket_on_answered: bool = False
    callback_attempts: int = 3
    timezone: str = "Europe/Moscow"
    locale: str = "ru"


class CallLog:
    """Stores call events and applies the call policy; also a notice sink (see module doc)."""

    def __init__(
        self,
        *,
        db: Database,
        intake: IntakeSink,
        tickets: TicketService,
        policy: CallPolicy,
        now: Callable[[], datetime],
    ) -> None:
        self._db = db
        self._intake = intake
        self._tickets = tickets
        self._policy = policy
        self._now = now

    async def handle(self, event: CallEvent) -> CallOutcome:
        """Store ``event`` and apply what the call now calls for; the ``CallSink`` of adapters."""
        async with self._db.read() as session:
            # A redelivery changes nothing, so it is answered from a read (no writer lock),
            # unless its call's ticket is still being made: then it waits for it below.
            seen = await PhoneStore(session).call_with_event(
                event.source, event.call_key, event.event_key
            )
        if seen is not None and seen.state != "submitted":
            return stored_outcome(seen)
        for attempt in range(1, RETRIES + 1):
            try:
                async with self._db.transaction() as session:
                    outcome, message = await self._record(session, event)
                break
            except DBAPIError as error:
                # Events of one call and the router linking it lock the same rows; PostgreSQL
                # may pick this transaction as a deadlock victim. Nothing committed: retry.
                if attempt == RETRIES or getattr(error.orig, "sqlstate", None) not in RETRYABLE:
                    raise
                logger.warning("call event retried", extra={"call": event.call_key})
        if message is None:
            return outcome
        return outcome_of(await self._intake(message))

    async def _record(
        self, session: AsyncSession, event: CallEvent
    ) -> tuple[CallOutcome, InboundMessage | None]:
        now = self._now()
        store = PhoneStore(session)
        # Only a definitive event or a finished recording can change what the call did, so
        # only they lock the call; the many leg events of a call are stored side by side.
        locks = event.definitive or event.recording is not None
        call = await store.call(event.source, event.call_key, now, lock=locks)
        leg = event.leg
        fresh = await store.add_event(
            call,
            event_key=event.event_key,
            kind=event.kind,
            payload=event.payload,
            now=now,
            leg=None if leg is None else (leg.leg_id, leg.seq, leg.state.value),
        )
        if fresh and event.recording is not None:
            await store.add_recording(
                call.id, ref=event.recording.ref, url=event.recording.url, now=now
            )
        if event.facts is not None and call.state == "new":
            await self._decide(session, store, call, event.facts, now)
        if locks and call.ticket_id is not None:
            await self._log_recordings(session, store, call, now)
        message = self._message(call) if call.state == "submitted" else None
        return stored_outcome(call), message

    async def _decide(
        self,
        session: AsyncSession,
        store: PhoneStore,
        call: CallRow,
        facts: CallFacts,
        now: datetime,
    ) -> None:
        call.facts, call.updated_at = facts.to_json(), now
        call.direction = facts.direction.value
        call.result = facts.result.value
        call.number = facts.number
        if facts.direction is CallDirection.INTERNAL:
            _ignore(call, "internal call")
            return
        if facts.number is None:
            _ignore(call, "no callable number")
            return
        await store.lock_number(facts.number)
        ticket = await store.open_ticket_of(facts.number)
        if ticket is not None:
            await self._log_on(session, call, ticket, now)
        elif await store.ticket_in_the_making(facts.number):
            # A ticket for this number is being made right now; this call is logged on it.
            call.state, call.outcome = "waiting", "queued"
        elif facts.direction is CallDirection.OUT:
            _ignore(call, "outbound call; the callee has no open ticket")
        elif facts.answered and not self._policy.open_ticket_on_answered:
            _ignore(call, "answered; the caller has no open ticket")
        else:
            message = self._message(call)
            stored = await inbox.store(
                session,
                channel=message.channel.value,
                external_id=message.external_id,
                payload=message.to_payload(),
                now=now,
            )
            call.inbound_id, call.state, call.outcome = stored.id, "submitted", "queued"

    def _message(self, call: CallRow) -> InboundMessage:
        assert call.facts is not None  # noqa: S101 - only decided calls are submitted
        return call_message(
            source=call.source,
            call_key=call.key,
            facts=CallFacts.from_json(call.facts),
            timezone=self._policy.timezone,
            locale=self._policy.locale,
            received_at=self._now(),
        )

    async def _log_on(
        self, session: AsyncSession, call: CallRow, number: int, now: datetime
    ) -> None:
        """Note the call on ticket ``number``; a missed call asks for a call-back there."""
        assert call.facts is not None  # noqa: S101 - decided calls have facts
        facts = CallFacts.from_json(call.facts)
        _, text = describe_call(facts, self._policy.timezone, self._policy.locale)
        details = self._details(call)
        await self._tickets.log_call(
            session, number, key=f"call:{call.id}", text=text, now=now, details=details
        )
        call.ticket_id, call.state, call.outcome = number, "linked", "logged"
        await self._callback_effects(session, call, facts, number, now)

    async def _callback_effects(
        self, session: AsyncSession, call: CallRow, facts: CallFacts, number: int, now: datetime
    ) -> None:
        """Missed inbound: ask for a call-back. Reaching the requester by phone either way
        (an answered call in or out) or failing to (an unanswered call out) is an attempt."""
        missed_in = facts.direction is CallDirection.IN and not facts.answered
        if missed_in:
            await self._tickets.request_callback(
                session,
                number,
                key=f"call:{call.id}",
                reason="missed_call",
                now=now,
                details=self._details(call),
            )
            return
        pending, _ = await self._tickets.callback_status(session, number)
        if pending and (facts.answered or facts.direction is CallDirection.OUT):
            await self._tickets.record_callback_attempt(
                session,
                number,
                reached=facts.answered,
                actor=facts.agent or "pbx",
                now=now,
                give_up_after=self._policy.callback_attempts,
                key=f"call:{call.id}",
            )

    async def _log_recordings(
        self, session: AsyncSession, store: PhoneStore, call: CallRow, now: datetime
    ) -> None:
        assert call.ticket_id is not None  # noqa: S101 - only linked calls log recordings
        for recording in await store.unlogged_recordings(call.id):
            await self._tickets.log_call(
                session,
                call.ticket_id,
                key=f"recording:{recording.id}",
                text=recording_note(recording.url, self._policy.locale),
                now=now,
                details={"call": call.key, "recording_url": recording.url},
            )
            recording.ticket_id = call.ticket_id

    @staticmethod
    def _details(call: CallRow) -> dict[str, object]:
        return {"source": call.source, "call": call.key, **(call.facts or {})}

    # -- the notice sink: calls learn their ticket in the router's transaction --------------

    async def on_notices(
        self, session: AsyncSession, notices: Sequence[Notice], now: datetime
    ) -> None:
        """Link submitted calls to the ticket the router made or found; prompt call-backs."""
        store = PhoneStore(session)
        for notice in notices:
            ticket, reply = notice.ticket, notice.ticket.reply_to
            if notice.kind == "created" and ticket.origin_channel is ChannelKind.PHONE and reply:
                # The call's message names the caller as the reply address, and only one call
                # per number is ever submitted at a time (the others wait), so the number
                # finds it without reading rows the router may still hold back.
                await store.lock_number(reply.address)
                for call in await store.calls_of(reply.address, "submitted"):
                    await self._link(session, store, call, ticket.number, "created", now)
            elif notice.kind == "requester_message" and notice.key.isdigit():
                # Appended to an open ticket instead (dedup): found through its comment.
                inbound = await store.inbound_of_comment(int(notice.key))
                appended = None if inbound is None else await store.call_by_inbound(inbound)
                if appended and appended.state == "submitted" and appended.number:
                    await store.lock_number(appended.number)
                    await self._link(session, store, appended, ticket.number, "logged", now)
            elif notice.kind in REPLY_KINDS and reply and reply.channel is ChannelKind.PHONE:
                await self._tickets.request_callback(
                    session,
                    ticket.number,
                    key=f"{notice.kind}:{notice.key}",
                    reason=notice.kind,
                    now=now,
                    details={"text": notice.data.get("text") or notice.data.get("comment")},
                )

    async def _link(  # noqa: PLR0917 - a private step of on_notices
        self,
        session: AsyncSession,
        store: PhoneStore,
        call: CallRow,
        number: int,
        outcome: str,
        now: datetime,
    ) -> None:
        """``call`` has its ticket; log the calls from its number that waited for it."""
        assert call.facts is not None  # noqa: S101 - submitted calls have facts
        call.ticket_id, call.state, call.outcome, call.updated_at = number, "linked", outcome, now
        await self._callback_effects(session, call, CallFacts.from_json(call.facts), number, now)
        await self._log_recordings(session, store, call, now)
        if call.number is not None:
            for waiting in await store.calls_of(call.number, "waiting"):
                await self._log_on(session, waiting, number, now)
                await self._log_recordings(session, store, waiting, now)
        logger.info("call linked", extra={"call": call.id, "ticket": number, "outcome": outcome})


def _ignore(call: CallRow, reason: str) -> None:
    call.state, call.outcome, call.reason = "ignored", "ignored", reason


def stored_outcome(call: CallRow) -> CallOutcome:
    """The answer for a call as stored: the same on every redelivery."""
    if call.state == "new":
        return CallOutcome(outcome="stored")
    return CallOutcome(
        outcome=call.outcome or "queued", ticket_number=call.ticket_id, reason=call.reason
    )


def outcome_of(result: IntakeResult) -> CallOutcome:
    """The intake's answer for a call's message, in the call log's words."""
    return CallOutcome(
        outcome=_OUTCOMES[result.outcome],
        ticket_number=result.ticket_number,
        reason=result.reason,
    )
