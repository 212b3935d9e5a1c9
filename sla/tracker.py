"""A ticket's whole SLA state and how one look at the ticket advances it. Pure.

The enricher (a ticket changed), the escalator (a timer is due) and the recompute (the policy
changed) all call :func:`track`: the same function keeps targets, clocks, due times, breach
flags and the next timer consistent whoever looks.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from operator import attrgetter

from sla.calendar import BusinessCalendar
from sla.clocks import STOPPED, Clocks, observe
from sla.policy import Plan, due_times
from sla.timers import next_timer, timer_keys_in_force
from ticketing.domain import Status, Ticket


@dataclass(frozen=True, slots=True, kw_only=True)
class SlaState:
    """What ``ticket_sla`` keeps for one ticket."""

    ticket_id: int
    agreement: str
    calendar: str
    policy_hash: str
    reaction_target: timedelta | None
    resolution_target: timedelta | None
    clocks: Clocks
    reaction_due_at: datetime | None = None
    resolution_due_at: datetime | None = None
    reaction_breached: bool = False
    resolution_breached: bool = False
    fired: frozenset[str] = frozenset()
    next_event_at: datetime | None = None
    next_event_kind: str | None = None

    def remaining(
        self, calendar: BusinessCalendar, now: datetime
    ) -> tuple[timedelta | None, timedelta | None]:
        """Business time left on the reaction and resolution clocks (negative: overdue);
        None where a clock is not tracked or already stopped."""
        clocks = self.clocks
        reaction = None
        if self.reaction_target is not None and clocks.reaction_stopped_at is None:
            reaction = self.reaction_target - clocks.reaction_used(calendar, now)
        resolution = None
        if self.resolution_target is not None and clocks.status not in STOPPED:
            resolution = self.resolution_target - clocks.resolution_used(calendar, now)
        return reaction, resolution


def track(
    state: SlaState | None,
    ticket: Ticket,
    plan: Plan,
    now: datetime,
    *,
    scheduled: bool = True,
) -> SlaState:
    """The SLA state after looking at ``ticket`` (fresh, as just changed) at ``now``.

    ``scheduled=False`` leaves the next timer to the caller (the escalator sets it itself).
    """
    calendar = plan.calendar
    if state is None:
        clocks = Clocks.start(min(ticket.created_at, now))
        state = SlaState(
            ticket_id=ticket.id,
            agreement=plan.agreement,
            calendar=plan.calendar_id,
            policy_hash=plan.policy_hash,
            reaction_target=plan.reaction,
            resolution_target=plan.resolution,
            clocks=clocks,
        )
    was_reacting = state.clocks.reaction_stopped_at is None
    clocks = observe(
        state.clocks,
        status=ticket.status,
        first_reaction_at=ticket.first_reaction_at,
        calendar=calendar,
        now=now,
    )
    due = due_times(clocks, plan)
    resolution_due = due.resolution
    if clocks.status in STOPPED:
        # Keep when it was due, so the ticket shows it next to its resolution time.
        resolution_due = state.resolution_due_at
    reaction_breached = state.reaction_breached
    if was_reacting and clocks.reaction_elapsed is not None and plan.reaction is not None:
        reaction_breached |= clocks.reaction_elapsed > plan.reaction
    resolution_breached = state.resolution_breached
    if (
        state.clocks.status not in STOPPED
        and clocks.status in STOPPED
        and clocks.resolution_elapsed is not None
        and plan.resolution is not None
    ):
        resolution_breached |= clocks.resolution_elapsed > plan.resolution
    fired = state.fired & timer_keys_in_force(clocks, state.fired)
    changes = {
        "agreement": plan.agreement,
        "calendar": plan.calendar_id,
        "policy_hash": plan.policy_hash,
        "reaction_target": plan.reaction,
        "resolution_target": plan.resolution,
        "clocks": clocks,
        "reaction_due_at": due.reaction,
        "resolution_due_at": resolution_due,
        "reaction_breached": reaction_breached,
        "resolution_breached": resolution_breached,
        "fired": fired,
    }
    if scheduled:
        timer = next_timer(clocks, fired, plan, rated=ticket.rating is not None)
        changes["next_event_at"] = timer.at if timer else None
        changes["next_event_kind"] = timer.kind if timer else None
    # One copy (a frozen dataclass is rebuilt field by field), none when nothing changed:
    # the escalator and the recompute look at many tickets whose state is already current.
    if attrgetter(*changes)(state) == tuple(changes.values()):
        return state
    return replace(state, **changes)  # type: ignore[arg-type]


def is_open(status: Status) -> bool:
    return status not in {Status.CLOSED}
