"""Every timer a ticket has pending, which are due, and which of those to act on. Pure.

A timer is named by a key unique per occurrence (``resolution:75``, ``still_waiting:<epoch of
the waiting period>``); the escalator records fired keys in the same transaction as what it
sends, so each timer fires once, and a new waiting or resolved period gets new timers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sla.calendar import ZERO
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


def ladder_timers(
    clocks: Clocks, plan: Plan, fired: frozenset[str] = frozenset(), *, first: bool = False
) -> Iterable[Timer]:
    """The ladder's timers on both clocks, leaving out fired ones. ``first``: only the
    earliest per clock (steps ascend, so the first unfired step is the earliest)."""
    for kind, target, start, banked in (
        ("reaction", plan.reaction, clocks.registered_at, ZERO),
        ("resolution", plan.resolution, clocks.resolution_running_since, clocks.resolution_banked),
    ):
        if target is None or start is None:
            continue
        if kind == "reaction" and clocks.reaction_stopped_at is not None:
            continue
        steps = [step for step in plan.ladder if f"{kind}:{step.percent}" not in fired]
        if first:
            steps = steps[:1]
        thresholds = [target * step.percent // 100 - banked for step in steps]
        moments = plan.calendar.add_many(start, thresholds)
        for step, at in zip(steps, moments, strict=True):
            yield Timer(at=at, key=f"{kind}:{step.percent}", kind=kind, step=step)


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
    timers = [
        *ladder_timers(clocks, plan, fired),
        *(t for t in requester_timers(clocks, plan, rated=rated) if t.key not in fired),
    ]
    return sorted(timers, key=lambda t: (t.at, t.key))


def next_timer(clocks: Clocks, fired: frozenset[str], plan: Plan, *, rated: bool) -> Timer | None:
    """The earliest timer not fired yet (only the first unfired ladder step of each clock is
    worked out: the later ones cannot come sooner)."""
    timers = [
        *ladder_timers(clocks, plan, fired, first=True),
        *(t for t in requester_timers(clocks, plan, rated=rated) if t.key not in fired),
    ]
    return min(timers, key=lambda t: (t.at, t.key), default=None)


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
