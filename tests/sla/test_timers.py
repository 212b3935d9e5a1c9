"""Which timers fire: the one-pass :func:`~sla.timers.firing` against its definition (sort
every pending timer by time), over random clocks, fired keys and moments. Pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from sla.clocks import Clocks
from sla.policy import Plan, SlaPolicy, TicketFacts
from sla.timers import LADDER_CLOCKS, REQUESTER_KINDS, SUPERSEDED_BY, firing, pending
from tests.sla.conftest import office_sla
from ticketing.domain import Status

POLICY = SlaPolicy(
    office_sla(
        agreements=[
            {
                "id": "gold",
                "calendar": "24x7",
                "companies": ["ACME"],
                "default": {"reaction": "30m", "resolution": "8h"},
                "ladder": [
                    {"percent": 50, "level": "warning"},
                    {"percent": 100, "level": "breach"},
                    {"percent": 200, "level": "escalation"},
                ],
                "requester": {"still_waiting_after": "1h", "auto_resolve_after": None},
            }
        ]
    )
)
PLANS = [
    POLICY.plan_for(TicketFacts(priority="medium", type="incident", service=None)),
    POLICY.plan_for(TicketFacts(priority="high", type="incident", service=None)),
    POLICY.plan_for(TicketFacts(priority="medium", type="incident", service=None, company="ACME")),
]
KEYS = sorted(
    {rung.key for plan in PLANS for rung in (*plan.reaction_rungs, *plan.resolution_rungs)}
)
T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)

offsets = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=20))
maybe_offsets = st.none() | offsets


@st.composite
def clocks(draw: st.DrawFn) -> Clocks:
    registered = T0 + draw(offsets)

    def later() -> datetime | None:
        offset = draw(maybe_offsets)
        return None if offset is None else registered + offset

    return Clocks(
        registered_at=registered,
        status=draw(st.sampled_from(Status)),
        reaction_stopped_at=later(),
        resolution_banked=draw(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3))),
        resolution_running_since=later(),
        waiting_since=later(),
        resolved_since=later(),
    )


def reference(
    clocks: Clocks, fired: frozenset[str], plan: Plan, *, rated: bool, now: datetime
) -> tuple[list[tuple[str, datetime]], frozenset[str], tuple[datetime, str] | None]:
    """SPEC's words literally: sort every pending timer; per clock act on the highest due
    step; a requester reminder gives way to its follow-up due at once."""
    timers = pending(clocks, fired, plan, rated=rated)
    due = [t for t in timers if t.at <= now]
    later = [t for t in timers if t.at > now]
    act = []
    for clock in LADDER_CLOCKS:
        steps = [t for t in due if t.kind == clock]
        if steps:
            act.append(max(steps, key=lambda t: t.step.percent if t.step else 0))
    kinds = {t.kind for t in due}
    act.extend(
        t for t in due if t.kind in REQUESTER_KINDS and SUPERSEDED_BY.get(t.kind) not in kinds
    )
    following = (later[0].at, later[0].kind) if later else None
    return [(t.key, t.at) for t in act], fired | {t.key for t in due}, following


@settings(max_examples=600, deadline=None)
@given(
    state=clocks(),
    fired=st.frozensets(st.sampled_from(KEYS)),
    plan=st.sampled_from(PLANS),
    rated=st.booleans(),
    after=st.timedeltas(min_value=timedelta(days=-1), max_value=timedelta(days=40)),
)
def test_firing_agrees_with_sorting_every_pending_timer_when_any(
    state: Clocks, fired: frozenset[str], plan: Plan, rated: bool, after: timedelta
) -> None:
    now = state.registered_at + after
    due = firing(state, fired, plan, rated=rated, now=now)
    act, all_fired, following = reference(state, fired, plan, rated=rated, now=now)
    assert [(t.key, t.at) for t in due.act] == act
    assert due.fired == all_fired
    assert (None if due.next is None else (due.next.at, due.next.kind)) == following
