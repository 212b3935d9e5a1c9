from __future__ import annotations

import pytest

from ticketing.domain import Status
from ticketing.lifecycle import ALLOWED_TRANSITIONS, InvalidTransitionError, check_transition


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (Status.NEW, Status.IN_PROGRESS),
        (Status.IN_PROGRESS, Status.WAITING),
        (Status.WAITING, Status.IN_PROGRESS),
        (Status.IN_PROGRESS, Status.RESOLVED),
        (Status.RESOLVED, Status.CLOSED),
        (Status.RESOLVED, Status.REOPENED),
        (Status.REOPENED, Status.IN_PROGRESS),
    ],
)
def test_spec_transitions_are_allowed(current: Status, target: Status) -> None:
    check_transition(current, target)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (Status.NEW, Status.REOPENED),
        (Status.CLOSED, Status.IN_PROGRESS),
        (Status.RESOLVED, Status.WAITING),
        (Status.WAITING, Status.WAITING),
        (Status.CLOSED, Status.RESOLVED),
    ],
)
def test_transition_is_refused_with_the_allowed_list_when_not_in_the_machine(
    current: Status, target: Status
) -> None:
    with pytest.raises(InvalidTransitionError) as caught:
        check_transition(current, target)
    assert current.value in str(caught.value)
    assert target.value in str(caught.value)
    assert "allowed:" in str(caught.value)


def test_every_status_has_a_way_out() -> None:
    assert set(ALLOWED_TRANSITIONS) == set(Status)
    assert all(ALLOWED_TRANSITIONS[s] for s in Status)
