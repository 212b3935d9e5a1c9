"""The escalator: claims the tickets whose next SLA timer is due and acts on them.

A tick is one transaction: claim the due ``ticket_sla`` rows (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so several escalators share the work; SQLite has one writer), decide what is due
(pure, :func:`sla.timers.firing`), then record the fired timers together with everything they
cause — ladder events and notices for the agents, outbox rows for the requester, automatic
resolve or close. Nothing is sent twice: the fired keys and the outbox rows commit together, and
the outbox's idempotency keys would refuse a repeat anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sla.keeper import facts_for
from sla.policy import Plan, SlaPolicy
from sla.records import record_from_state, state_from_record
from sla.reminders import Reminders
from sla.settings import SlaSettings
from sla.timers import LADDER_CLOCKS, Timer, firing
from sla.tracker import SlaState, track
from ticketing import sla_store
from ticketing.db import Database
from ticketing.domain import OutboxEntry, Status, Ticket
from ticketing.lifecycle import InvalidTransitionError
from ticketing.outbox import add_entries
from ticketing.service import TicketService
from ticketing.sla_store import SlaRecord

logger = logging.getLogger(__name__)

_STATUS_TIMERS = {"auto_resolve": Status.RESOLVED, "auto_close": Status.CLOSED}


@dataclass(slots=True)
class _Work:
    """What one tick does, collected before any of it is written."""

    records: list[SlaRecord] = field(default_factory=list)
    events: list[tuple[Ticket, str, str, dict[str, object]]] = field(default_factory=list)
    entries: list[OutboxEntry] = field(default_factory=list)
    status_changes: list[tuple[int, Status, str]] = field(default_factory=list)


class Escalator:
    """Fires due SLA timers.

    Args:
        db: the ticket database.
        tickets: the ticket service (events, notices, status changes).
        policy: agreements and calendars.
        settings: the SLA settings (batch size, tick interval, supervisors).
        reminders: builds the outbox entries for requesters and ladder recipients.
        leads: team id → its lead (told about breaches).
        now: the clock.
        wake: called after a tick queued outbox rows (wakes the dispatcher).
    """

    def __init__(
        self,
        *,
        db: Database,
        tickets: TicketService,
        policy: SlaPolicy,
        settings: SlaSettings,
        reminders: Reminders,
        leads: Mapping[str, str | None],
        now: Callable[[], datetime],
        wake: Callable[[], None] | None = None,
    ) -> None:
        self._db = db
        self._tickets = tickets
        self._policy = policy
        self._settings = settings
        self._reminders = reminders
        self._leads = leads
        self._now = now
        self._wake = wake

    async def tick(self) -> int:
        """Claim and act on up to ``batch_size`` due tickets; how many were claimed."""
        now = self._now()
        async with self._db.transaction() as session:
            claimed = await sla_store.claim_due(session, now, self._settings.batch_size)
            if not claimed:
                return 0
            facts = await facts_for(session, self._policy, [ticket for _, ticket in claimed])
            work = _Work()
            for record, ticket in claimed:
                plan = self._policy.plan_for(facts[ticket.id])
                self._decide(work, record, ticket, plan, now)
            await self._write(session, work, {r.ticket_id: r for r, _ in claimed}, now)
        if work.entries and self._wake is not None:
            self._wake()
        return len(claimed)

    def _decide(
        self, work: _Work, record: SlaRecord, ticket: Ticket, plan: Plan, now: datetime
    ) -> None:
        before = state_from_record(record)
        state = track(before, ticket, plan, now, scheduled=False)
        if (ticket.reaction_due_at, ticket.resolution_due_at) != (
            state.reaction_due_at,
            state.resolution_due_at,
        ):
            ticket = replace(
                ticket,
                reaction_due_at=state.reaction_due_at,
                resolution_due_at=state.resolution_due_at,
            )
        due = firing(state.clocks, state.fired, plan, rated=ticket.rating is not None, now=now)
        newly = [key.split(":") for key in due.fired - state.fired]
        breached = {clock for clock, mark in newly if clock in LADDER_CLOCKS and int(mark) >= 100}
        # Usually the ticket is as the row left it (track hands back the same state), and
        # only the timer columns change: copy the row read rather than convert the state back.
        work.records.append(
            (record if state is before else record_from_state(state))._replace(
                fired=tuple(sorted(due.fired)),
                reaction_breached=state.reaction_breached or "reaction" in breached,
                resolution_breached=state.resolution_breached or "resolution" in breached,
                next_event_at=due.next.at if due.next else None,
                next_event_kind=due.next.kind if due.next else None,
            )
        )
        for timer in due.act:
            if timer.step is not None:
                self._ladder(work, ticket, state, timer, now)
            elif timer.kind in _STATUS_TIMERS:
                work.status_changes.append((ticket.number, _STATUS_TIMERS[timer.kind], timer.kind))
                work.events.append((ticket, f"sla_{timer.kind}", timer.key, {}))
            else:
                work.entries.extend(self._reminders.for_requester(ticket, timer, plan))
                work.events.append((ticket, "sla_reminder", timer.key, {"timer": timer.kind}))

    def _ladder(
        self, work: _Work, ticket: Ticket, state: SlaState, timer: Timer, now: datetime
    ) -> None:
        step = timer.step
        assert step is not None  # noqa: S101 - ladder timers carry their step
        kind = "sla_warning" if step.level == "warning" else "sla_breach"
        due_at = state.reaction_due_at if timer.kind == "reaction" else state.resolution_due_at
        data: dict[str, Any] = {
            "level": step.level,
            "percent": step.percent,
            "clock": timer.kind,
            "due_at": due_at.isoformat() if due_at else None,
            "assignee": ticket.assignee,
            "team_lead": self._leads.get(ticket.team) if ticket.team else None,
            "supervisors": list(self._settings.supervisors),
            "notify": list(step.notify),
            "late_by_s": (now - due_at).total_seconds() if due_at and now > due_at else 0.0,
        }
        work.events.append((ticket, kind, timer.key, data))
        work.entries.extend(self._reminders.for_ladder(ticket, timer, kind, data))

    async def _write(
        self,
        session: AsyncSession,
        work: _Work,
        before: Mapping[int, SlaRecord],
        now: datetime,
    ) -> None:
        # The fired keys first: status changes below re-track these tickets through the
        # enricher, which must see the timers as fired.
        await sla_store.save(session, work.records, now, before=before)
        await self._tickets.record_sla_events(session, work.events, now=now)
        await add_entries(session, work.entries, now)
        for number, target, reason in work.status_changes:
            try:
                await self._tickets.change_status(session, number, target, actor="sla", now=now)
            except InvalidTransitionError:
                # Changed meanwhile (the state is re-read next tick); nothing to force.
                logger.info("sla: %s not applicable", reason, extra={"ticket": number})

    async def run(self, stop: asyncio.Event) -> None:
        """Tick until ``stop``: at once again while ticks come back full, else every
        ``tick_seconds``. A failed tick is logged and retried; nothing is lost (it rolled back)."""
        while not stop.is_set():
            claimed = 0
            try:
                claimed = await self.tick()
            except Exception:
                logger.exception("sla tick failed")
            if claimed >= self._settings.batch_size:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self._settings.tick_seconds)
