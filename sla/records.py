"""Between the stored row (:class:`~ticketing.sla_store.SlaRecord`, seconds and strings) and the
pure state (:class:`~sla.tracker.SlaState`, timedeltas and enums)."""

from __future__ import annotations

from datetime import timedelta

from sla.clocks import Clocks
from sla.tracker import SlaState
from ticketing.domain import Status
from ticketing.sla_store import SlaRecord

# Statuses by value: a lookup, where calling the enum costs several times more (a tick reads
# hundreds of rows).
_STATUSES = {status.value: status for status in Status}


def _delta(seconds: float | None) -> timedelta | None:
    return None if seconds is None else timedelta(seconds=seconds)


def _seconds(delta: timedelta | None) -> float | None:
    return None if delta is None else delta.total_seconds()


def state_from_record(record: SlaRecord) -> SlaState:
    return SlaState(
        ticket_id=record.ticket_id,
        agreement=record.agreement,
        calendar=record.calendar,
        policy_hash=record.policy_hash,
        reaction_target=_delta(record.reaction_target_s),
        resolution_target=_delta(record.resolution_target_s),
        clocks=Clocks(
            registered_at=record.registered_at,
            status=_STATUSES[record.last_status],
            reaction_stopped_at=record.reaction_stopped_at,
            reaction_elapsed=_delta(record.first_reaction_business_s),
            resolution_banked=timedelta(seconds=record.resolution_banked_s),
            resolution_running_since=record.resolution_running_since,
            resolution_elapsed=_delta(record.resolution_business_s),
            waiting_since=record.waiting_since,
            resolved_since=record.resolved_since,
        ),
        reaction_due_at=record.reaction_due_at,
        resolution_due_at=record.resolution_due_at,
        reaction_breached=record.reaction_breached,
        resolution_breached=record.resolution_breached,
        fired=frozenset(record.fired),
        next_event_at=record.next_event_at,
        next_event_kind=record.next_event_kind,
    )


def record_from_state(state: SlaState) -> SlaRecord:
    clocks = state.clocks
    return SlaRecord(
        ticket_id=state.ticket_id,
        agreement=state.agreement,
        calendar=state.calendar,
        policy_hash=state.policy_hash,
        registered_at=clocks.registered_at,
        last_status=clocks.status.value,
        reaction_target_s=_seconds(state.reaction_target),
        resolution_target_s=_seconds(state.resolution_target),
        reaction_stopped_at=clocks.reaction_stopped_at,
        first_reaction_business_s=_seconds(clocks.reaction_elapsed),
        resolution_business_s=_seconds(clocks.resolution_elapsed),
        resolution_banked_s=clocks.resolution_banked.total_seconds(),
        resolution_running_since=clocks.resolution_running_since,
        waiting_since=clocks.waiting_since,
        resolved_since=clocks.resolved_since,
        reaction_breached=state.reaction_breached,
        resolution_breached=state.resolution_breached,
        fired=tuple(sorted(state.fired)),
        next_event_at=state.next_event_at,
        next_event_kind=state.next_event_kind,
        reaction_due_at=state.reaction_due_at,
        resolution_due_at=state.resolution_due_at,
    )
