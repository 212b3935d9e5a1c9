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
from sla.policy import Plan, Rung
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


def _ladder_clocks(
    clocks: Clocks, plan: Plan
) -> Iterable[tuple[str, tuple[Rung, ...], datetime, timedelta]]:
    """Each running ladder clock: its name, rungs, start and business time banked before."""
    if plan.reaction_rungs and clocks.reaction_stopped_at is None:
        yield "reaction", plan.reaction_rungs, clocks.registered_at, ZERO
    start = clocks.resolution_running_since
    if plan.resolution_rungs and start is not None:
        yield "resolution", plan.resolution_rungs, start, clocks.resolution_banked


def ladder_timers(
    clocks: Clocks, plan: Plan, fired: frozenset[str] = frozenset(), *, first: bool = False
) -> Iterable[Timer]:
    """The ladder's timers on both clocks, leaving out fired ones. ``first``: only the
    earliest per clock (steps ascend, so the first unfired step is the earliest)."""
    for kind, rungs, start, banked in _ladder_clocks(clocks, plan):
        left = [rung for rung in rungs if rung.key not in fired]
        if first:
            left = left[:1]
        moments = plan.calendar.add_many(start, [rung.span - banked for rung in left])
        for rung, at in zip(left, moments, strict=True):
            yield Timer(at=at, key=rung.key, kind=kind, step=rung.step)


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
    due as well.

    The same answer as sorting :func:`pending` by time, in one pass: a ladder step is due when
    the business time its clock has used by ``now`` reaches the step's share, so only the
    highest due step and the first one still ahead are turned into moments.
    """
    act: list[Timer] = []
    keys: list[str] = []
    later: list[Timer] = []
    for kind, rungs, start, banked in _ladder_clocks(clocks, plan):
        left = [rung for rung in rungs if rung.key not in fired] if fired else rungs
        if not left:
            continue
        spans = [rung.span - banked for rung in left] if banked else [r.span for r in left]
        passed, moments = plan.calendar.progress(start, now, spans)
        if passed:
            rung = left[passed - 1]
            act.append(Timer(at=moments[0], key=rung.key, kind=kind, step=rung.step))
            keys.extend([rung.key for rung in left[:passed]])
        if passed < len(left):
            rung = left[passed]
            later.append(Timer(at=moments[-1], key=rung.key, kind=kind, step=rung.step))
    if clocks.waiting_since is not None or clocks.resolved_since is not None:
        requester = sorted(
            (t for t in requester_timers(clocks, plan, rated=rated) if t.key not in fired),
            key=_order,
        )
        due = [t for t in requester if t.at <= now]
        later.extend(t for t in requester if t.at > now)
        keys.extend(t.key for t in due)
        kinds = {t.kind for t in due}
        act.extend(t for t in due if SUPERSEDED_BY.get(t.kind) not in kinds)
    return Firing(
        act=tuple(act),
        fired=fired.union(keys) if keys else fired,
        next=min(later, key=_order) if later else None,
    )


def _order(timer: Timer) -> tuple[datetime, str]:
    return timer.at, timer.key
