"""Every timer a ticket has pending, which are due, and which of those to act on. Pure.

A timer is named by a key unique per occurrence (``resolution:75``, ``still_waiting:<epoch of
the waiting period>``); the escalator records fired keys in the same transaction as what it
sends, so each timer fires once, and a new waiting or resolved period gets new timers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sla.clocks import Clocks
from sla.policy import Plan
from sla.settings import LadderStep

LADDER_CLOCKS = ("reaction", "resolution")
REQUESTER_KINDS = ("still_waiting", "auto_resolve", "rating_request", "auto_close")
# When the escalator was away and both are due, only the later one makes sense.
SUPERSEDED_BY = {"still_waiting": "auto_resolve", "rating_request": "auto_close"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Timer:
    at: datetime
    key: str
    kind: str  # "reaction" | "resolution" (ladder) or one of REQUESTER_KINDS
    step: LadderStep | None = None
    since: datetime | None = None  # start of the waiting/resolved period it belongs to


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def ladder_timers(clocks: Clocks, plan: Plan) -> Iterable[Timer]:
    calendar = plan.calendar
    if plan.reaction is not None and clocks.reaction_stopped_at is None:
        for step in plan.ladder:
            threshold = plan.reaction * step.percent // 100
            yield Timer(
                at=calendar.add(clocks.registered_at, threshold),
                key=f"reaction:{step.percent}",
                kind="reaction",
                step=step,
            )
    running = clocks.resolution_running_since
    if plan.resolution is not None and running is not None:
        for step in plan.ladder:
            threshold = plan.resolution * step.percent // 100
            yield Timer(
                at=calendar.add(running, threshold - clocks.resolution_banked),
                key=f"resolution:{step.percent}",
                kind="resolution",
                step=step,
            )


def requester_timers(clocks: Clocks, plan: Plan, *, rated: bool) -> Iterable[Timer]:
    calendar, timers = plan.calendar, plan.requester
    periods: list[tuple[str, datetime | None, timedelta | None]] = [
        ("still_waiting", clocks.waiting_since, timers.still_waiting),
        ("auto_resolve", clocks.waiting_since, timers.auto_resolve),
        ("rating_request", None if rated else clocks.resolved_since, timers.rating_request),
        ("auto_close", clocks.resolved_since, timers.auto_close),
    ]
    for kind, since, after in periods:
        if since is not None and after is not None:
            yield Timer(
                at=calendar.add(since, after),
                key=f"{kind}:{_epoch(since)}",
                kind=kind,
                since=since,
            )


def pending(clocks: Clocks, fired: frozenset[str], plan: Plan, *, rated: bool) -> list[Timer]:
    """The timers not fired yet, earliest first."""
    timers = [*ladder_timers(clocks, plan), *requester_timers(clocks, plan, rated=rated)]
    return sorted((t for t in timers if t.key not in fired), key=lambda t: (t.at, t.key))


def next_timer(clocks: Clocks, fired: frozenset[str], plan: Plan, *, rated: bool) -> Timer | None:
    timers = pending(clocks, fired, plan, rated=rated)
    return timers[0] if timers else None


def timer_keys_in_force(clocks: Clocks, fired: frozenset[str]) -> frozenset[str]:
    """The fired keys worth keeping: the ladder's, and the current periods' timers."""
    periods = {
        f"{kind}:{_epoch(since)}"
        for kind in REQUESTER_KINDS
        for since in (clocks.waiting_since, clocks.resolved_since)
        if since is not None
    }
    return frozenset(k for k in fired if k.split(":")[0] in LADDER_CLOCKS or k in periods)


@dataclass(frozen=True, slots=True, kw_only=True)
class Firing:
    """The timers due now: ``act`` are carried out, all of ``fired`` are marked done."""

    act: tuple[Timer, ...]
    fired: frozenset[str]
    next: Timer | None = None  # the earliest timer left for later


def firing(
    clocks: Clocks, fired: frozenset[str], plan: Plan, *, rated: bool, now: datetime
) -> Firing:
    """What to do at ``now``: per clock only the highest ladder step due (the lower ones are
    moot once it is passed), and no reminder when its follow-up (auto-resolve, auto-close) is
    due as well."""
    timers = pending(clocks, fired, plan, rated=rated)
    due = [t for t in timers if t.at <= now]
    later = [t for t in timers if t.at > now]
    act: list[Timer] = []
    for clock in LADDER_CLOCKS:
        steps = [t for t in due if t.kind == clock]
        if steps:
            act.append(max(steps, key=lambda t: t.step.percent if t.step else 0))
    kinds = {t.kind for t in due}
    act.extend(
        t for t in due if t.kind in REQUESTER_KINDS and SUPERSEDED_BY.get(t.kind) not in kinds
    )
    return Firing(
        act=tuple(act), fired=fired | {t.key for t in due}, next=later[0] if later else None
    )
