"""The notice enricher that keeps every ticket's SLA clocks in step with its changes.

It runs inside the transaction that changed the ticket, before the notice sinks: the ticket's
due times are written first, and the notices handed on carry them, so the acknowledgement
already names the expected resolution time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from sla.policy import SlaPolicy, TicketFacts
from sla.records import record_from_state, state_from_record
from sla.tracker import SlaState, track
from ticketing import sla_store
from ticketing.domain import Notice, Ticket

#: Notices the SLA part emits itself; they change no clock.
OWN_KINDS = frozenset({"sla_warning", "sla_breach"})


async def facts_for(
    session: AsyncSession, policy: SlaPolicy, tickets: Sequence[Ticket]
) -> dict[int, TicketFacts]:
    """Each ticket's facts; the requester's identities are read only when an agreement names
    contacts by e-mail, phone or Telegram id."""
    identities: dict[int, list[str]] = {}
    if policy.needs_identities:
        identities = await sla_store.identity_values(
            session, {ticket.requester.id for ticket in tickets}
        )
    return {
        ticket.id: TicketFacts.of(ticket, identities.get(ticket.requester.id, ()))
        for ticket in tickets
    }


class ClockKeeper:
    """``NoticeEnricher`` for ``okno.notice_enrichers``.

    Args:
        policy: the configured agreements and calendars.
    """

    def __init__(self, policy: SlaPolicy) -> None:
        self._policy = policy

    async def __call__(
        self, session: AsyncSession, notices: Sequence[Notice], now: datetime
    ) -> Sequence[Notice]:
        tracked = [notice for notice in notices if notice.kind not in OWN_KINDS]
        if not tracked:
            return notices
        records = await sla_store.load(session, {n.ticket.id for n in tracked})
        facts = await facts_for(session, self._policy, [n.ticket for n in tracked])
        states: dict[int, SlaState | None] = {
            ticket_id: state_from_record(record) for ticket_id, record in records.items()
        }
        # In order: a batch may hold several changes of one ticket (created, then a reply).
        for notice in tracked:
            ticket = notice.ticket
            plan = self._policy.plan_for(facts[ticket.id])
            states[ticket.id] = track(states.get(ticket.id), ticket, plan, now)
        final = {ticket_id: s for ticket_id, s in states.items() if s is not None}
        await sla_store.save(
            session,
            [record_from_state(state) for state in final.values()],
            now,
            before=records,
        )
        return [_fresh(notice, final.get(notice.ticket.id)) for notice in notices]


def _fresh(notice: Notice, state: SlaState | None) -> Notice:
    if state is None:
        return notice
    ticket = replace(
        notice.ticket,
        reaction_due_at=state.reaction_due_at,
        resolution_due_at=state.resolution_due_at,
    )
    return replace(notice, ticket=ticket)
