"""The two SLA clocks of a ticket (SPEC §7), advanced by what the ticket looks like now. Pure.

- **Reaction** runs from registration until the first move to ``in_progress`` or the first
  public agent reply (the ticket's ``first_reaction_at``). A ticket an agent moves from ``new``
  straight to ``waiting``, ``resolved`` or ``closed`` has been reacted to as well. It never
  pauses.
- **Resolution** runs in ``new``, ``in_progress`` and ``reopened``, pauses in ``waiting``, stops
  at ``resolved`` (and ``closed``); reopening resumes it with the time already used.

The clocks are advanced from the ticket's state rather than from a list of event kinds, so
any change (also ones added later by other parts) keeps them right.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from operator import attrgetter

from sla.calendar import ZERO, BusinessCalendar
from ticketing.domain import Status

RUNNING = frozenset({Status.NEW, Status.IN_PROGRESS, Status.REOPENED})
STOPPED = frozenset({Status.RESOLVED, Status.CLOSED})


@dataclass(frozen=True, slots=True, kw_only=True)
class Clocks:
    """Where both clocks stand; business durations are in the ticket's calendar."""

    registered_at: datetime
    status: Status = Status.NEW
    reaction_stopped_at: datetime | None = None
    reaction_elapsed: timedelta | None = None  # business time to the first reaction
    resolution_banked: timedelta = ZERO  # business time used before the current run
    resolution_running_since: datetime | None = None
    resolution_elapsed: timedelta | None = None  # business time to the last resolution
    waiting_since: datetime | None = None
    resolved_since: datetime | None = None

    @classmethod
    def start(cls, registered_at: datetime) -> Clocks:
        """A new ticket: both clocks run from its registration."""
        return cls(registered_at=registered_at, resolution_running_since=registered_at)

    def resolution_used(self, calendar: BusinessCalendar, now: datetime) -> timedelta:
        """Business time the resolution clock has run so far."""
        if self.resolution_running_since is None:
            return self.resolution_banked
        return self.resolution_banked + calendar.elapsed(self.resolution_running_since, now)

    def reaction_used(self, calendar: BusinessCalendar, now: datetime) -> timedelta:
        if self.reaction_elapsed is not None:
            return self.reaction_elapsed
        return calendar.elapsed(self.registered_at, now)


def observe(
    clocks: Clocks,
    *,
    status: Status,
    first_reaction_at: datetime | None,
    calendar: BusinessCalendar,
    now: datetime,
) -> Clocks:
    """The clocks after the ticket was seen in ``status`` at ``now``."""
    changes: dict[str, object] = {"status": status}
    if clocks.reaction_stopped_at is None:
        stop = first_reaction_at
        if stop is None and status not in {Status.NEW}:
            stop = now
        if stop is not None:
            stop = max(stop, clocks.registered_at)
            changes["reaction_stopped_at"] = stop
            changes["reaction_elapsed"] = calendar.elapsed(clocks.registered_at, stop)
    running, banked = clocks.resolution_running_since, clocks.resolution_banked
    if running is not None and status not in RUNNING:
        banked, running = banked + calendar.elapsed(running, now), None
    elif running is None and status in RUNNING:
        running = now
    changes["resolution_banked"] = banked
    changes["resolution_running_since"] = running
    if status in STOPPED and clocks.status not in STOPPED:
        changes["resolution_elapsed"] = banked
    if status is Status.WAITING:
        if clocks.status is not Status.WAITING or clocks.waiting_since is None:
            changes["waiting_since"] = now
    else:
        changes["waiting_since"] = None
    if status is Status.RESOLVED:
        if clocks.status is not Status.RESOLVED or clocks.resolved_since is None:
            changes["resolved_since"] = now
    else:
        changes["resolved_since"] = None
    return _changed(clocks, changes)


def _changed(clocks: Clocks, changes: dict[str, object]) -> Clocks:
    """``clocks`` with ``changes``; the same object when nothing differs (no copy: the
    escalator and the recompute look at many tickets whose clocks stand as they were)."""
    if attrgetter(*changes)(clocks) == tuple(changes.values()):
        return clocks
    return replace(clocks, **changes)  # type: ignore[arg-type]
