"""The ticket state machine: the one place that says which status may follow which (SPEC §3)."""

from __future__ import annotations

from ticketing.domain import Status

# new → in_progress ⇄ waiting → resolved → closed; resolved → reopened → in_progress.
# Quick fixes (new → resolved), questions asked at once (new → waiting), closing an open ticket
# (merge, spam) and reopening a closed one (a reply within the reopen period) are everyday
# service-desk moves, so they are allowed too.
ALLOWED_TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.NEW: frozenset({Status.IN_PROGRESS, Status.WAITING, Status.RESOLVED, Status.CLOSED}),
    Status.IN_PROGRESS: frozenset({Status.WAITING, Status.RESOLVED, Status.CLOSED}),
    Status.WAITING: frozenset({Status.IN_PROGRESS, Status.RESOLVED, Status.CLOSED}),
    Status.RESOLVED: frozenset({Status.CLOSED, Status.REOPENED}),
    Status.REOPENED: frozenset(
        {Status.IN_PROGRESS, Status.WAITING, Status.RESOLVED, Status.CLOSED}
    ),
    Status.CLOSED: frozenset({Status.REOPENED}),
}


class InvalidTransitionError(ValueError):
    """A status change the state machine does not allow."""

    def __init__(self, current: Status, target: Status) -> None:
        allowed = ", ".join(sorted(s.value for s in ALLOWED_TRANSITIONS[current])) or "none"
        super().__init__(
            f"cannot change status from {current.value} to {target.value} (allowed: {allowed})"
        )
        self.current = current
        self.target = target


def check_transition(current: Status, target: Status) -> None:
    """Raise :class:`InvalidTransitionError` unless ``current → target`` is allowed."""
    if target not in ALLOWED_TRANSITIONS[current]:
        raise InvalidTransitionError(current, target)


def requester_may_reopen(current: Status) -> bool:
    """A requester can reopen only what was resolved (or closed, within the reopen period)."""
    return current in {Status.RESOLVED, Status.CLOSED}
