"""Agreement selection, rules and the pure clocks (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from sla.calendar import BusinessCalendar
from sla.clocks import Clocks, observe
from sla.policy import SlaPolicy, TicketFacts
from sla.settings import SlaSettings
from sla.timers import firing
from ticketing.domain import Status

T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
ROUND = BusinessCalendar()


def policy() -> SlaPolicy:
    return SlaPolicy(
        SlaSettings.model_validate(
            {
                "enabled": True,
                "base": {"id": "base", "calendar": "24x7"},
                "agreements": [
                    {
                        "id": "acme-vpn",
                        "calendar": "24x7",
                        "companies": ["ACME"],
                        "services": ["vpn"],
                        "rules": [
                            {
                                "priority": ["high"],
                                "type": ["incident"],
                                "reaction": "5m",
                                "resolution": "1h",
                            }
                        ],
                        "default": {"reaction": "30m", "resolution": "8h"},
                    },
                    {"id": "finance", "calendar": "office", "departments": ["Финансы"]},
                    {
                        "id": "ceo",
                        "calendar": "24x7",
                        "contacts": ["CEO@acme.ru", "#7"],
                        "default": {"reaction": "1m", "resolution": None},
                        "rules": [],
                    },
                ],
            }
        )
    )


def facts(**changes: object) -> TicketFacts:
    values: dict[str, object] = {"priority": "medium", "type": "incident", "service": None}
    values.update(changes)
    return TicketFacts(**values)  # type: ignore[arg-type]


def test_agreement_covers_only_its_services_when_it_lists_them() -> None:
    sla = policy()
    assert sla.agreement_for(facts(company="ACME", service="vpn")).id == "acme-vpn"
    assert sla.agreement_for(facts(company="ACME", service="email")).id == "base"
    assert sla.agreement_for(facts(company="Other", service="vpn")).id == "base"


def test_contact_wins_over_department_and_company_when_several_match() -> None:
    sla = policy()
    keys = frozenset({"ceo@acme.ru"})
    assert sla.agreement_for(facts(company="ACME", service="vpn", contact_keys=keys)).id == "ceo"
    assert sla.agreement_for(facts(department="Финансы", company="ACME", service="vpn")).id == (
        "finance"
    )
    assert sla.agreement_for(facts(contact_keys=frozenset({"#7"}))).id == "ceo"


def test_rules_pick_targets_and_the_default_applies_when_none_matches() -> None:
    sla = policy()
    high = sla.plan_for(facts(company="ACME", service="vpn", priority="high"))
    low = sla.plan_for(facts(company="ACME", service="vpn", priority="low"))
    base_critical = sla.plan_for(facts(priority="critical"))
    ceo = sla.plan_for(facts(contact_keys=frozenset({"#7"})))
    assert (high.reaction, high.resolution) == (timedelta(minutes=5), timedelta(hours=1))
    assert (low.reaction, low.resolution) == (timedelta(minutes=30), timedelta(hours=8))
    assert (base_critical.reaction, base_critical.resolution) == (
        timedelta(minutes=15),
        timedelta(hours=4),
    )
    assert ceo.resolution is None  # not tracked


def test_policy_hash_changes_only_for_the_agreement_whose_calendar_changed() -> None:
    before = policy()
    settings = before.settings.model_copy(deep=True)
    settings.calendars[0].breaks = ["12:00-13:00"]
    after = SlaPolicy(settings)
    changed = {a for a in before.hashes if before.hashes[a] != after.hashes[a]}
    assert changed == {"finance"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"base": {"id": "base", "calendar": "nowhere"}}, "unknown calendar"),
        ({"agreements": [{"id": "x"}]}, "companies, departments or contacts"),
        ({"calendars": [{"id": "c", "hours": {"mon": ["18:00-09:00"]}}]}, "range"),
        ({"calendars": [{"id": "c", "timezone": "Mars/Base"}]}, "time zone"),
        ({"base": {"id": "base", "default": {"reaction": "soon"}}}, "duration"),
        (
            {
                "base": {
                    "id": "base",
                    "ladder": [
                        {"percent": 100, "level": "breach"},
                        {"percent": 75, "level": "warning"},
                    ],
                }
            },
            "ascending",
        ),
    ],
)
def test_bad_settings_fail_with_the_reason_when_invalid(
    data: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        SlaSettings.model_validate(data)


def test_resolution_pauses_in_waiting_and_stops_at_resolved_when_observed() -> None:
    clocks = Clocks.start(T0)
    clocks = observe(
        clocks,
        status=Status.IN_PROGRESS,
        first_reaction_at=T0 + timedelta(minutes=10),
        calendar=ROUND,
        now=T0 + timedelta(minutes=10),
    )
    assert clocks.reaction_elapsed == timedelta(minutes=10)
    clocks = observe(
        clocks,
        status=Status.WAITING,
        first_reaction_at=None,
        calendar=ROUND,
        now=T0 + timedelta(hours=1),
    )
    assert clocks.resolution_running_since is None
    assert clocks.resolution_banked == timedelta(hours=1)
    clocks = observe(
        clocks,
        status=Status.IN_PROGRESS,
        first_reaction_at=None,
        calendar=ROUND,
        now=T0 + timedelta(hours=5),
    )
    clocks = observe(
        clocks,
        status=Status.RESOLVED,
        first_reaction_at=None,
        calendar=ROUND,
        now=T0 + timedelta(hours=6),
    )
    assert clocks.resolution_elapsed == timedelta(hours=2)
    assert clocks.resolution_used(ROUND, T0 + timedelta(days=3)) == timedelta(hours=2)


def test_firing_acts_on_the_highest_step_and_marks_the_rest_when_late() -> None:
    plan = policy().plan_for(facts())  # base, 24x7: medium 4h / 2d
    clocks = Clocks.start(T0)
    due = firing(clocks, frozenset(), plan, rated=False, now=T0 + timedelta(hours=5))
    assert [(t.kind, t.step.percent if t.step else 0) for t in due.act] == [("reaction", 100)]
    assert due.fired == {"reaction:75", "reaction:100"}
