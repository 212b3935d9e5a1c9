"""Router settings: defaults and clear errors for bad rules."""

from __future__ import annotations

import pytest
import yaml
from pydantic import ValidationError

from router.priority import PriorityMatrix
from router.settings import RouterSettings
from ticketing.domain import Priority, TicketType

CONFIG = r"""
dedup_window_hours: 12
classification_rules:
  - id: printer
    keywords: ["принтер не печатает", printer]
    type: incident
    service: printing
  - id: access
    regexes: ['^fs\d+$']
    type: service_request
priority_matrix:
  - [critical, critical, high, high]
  - [critical, high, high, medium]
  - [high, high, medium, low]
  - [medium, medium, low, low]
priority_rules:
  - id: boss
    vip: true
    priority: high
routing_rules:
  - service: printing
    team: office
default_team: l1
"""


def load(text: str) -> RouterSettings:
    return RouterSettings.model_validate(yaml.safe_load(text))


def test_defaults_have_itil_matrix_builtin_hints_and_no_classification() -> None:
    settings = RouterSettings()

    assert settings.dedup_window_hours == 24
    assert settings.dedup_similarity_threshold == 0.3
    assert settings.classification_threshold == 0.5
    assert settings.classification_rules == []
    assert settings.priority_matrix == PriorityMatrix()
    assert [r.id for r in settings.priority_rules] == [
        "urgent-words",
        "wide-impact",
        "team-blocked",
        "vip-contact",
    ]
    assert settings.routing_rules == []
    assert settings.default_team is None


def test_yaml_config_loads_every_section() -> None:
    settings = load(CONFIG)

    assert settings.classification_rules[0].type is TicketType.INCIDENT
    assert settings.priority_matrix.lookup(1, 2) is Priority.CRITICAL
    assert [r.id for r in settings.priority_rules] == ["boss"]
    assert settings.routing_rules[0].team == "office"
    assert settings.default_team == "l1"


def test_invalid_regex_fails_with_rule_position_and_id() -> None:
    bad = CONFIG.replace(r"'^fs\d+$'", r"'^fs(\d+$'")

    with pytest.raises(ValidationError) as caught:
        load(bad)

    (error,) = caught.value.errors()
    assert error["loc"] == ("classification_rules", 1, "regexes")
    assert "rule 'access': regexes[0] '^fs(" in error["msg"]
    assert "missing )" in error["msg"]


def test_empty_priority_rules_turn_builtin_hints_off() -> None:
    assert RouterSettings.model_validate({"priority_rules": []}).priority_rules == []


def test_repeated_rule_ids_are_rejected() -> None:
    rule = {"id": "dup", "keywords": ["принтер"], "service": "printing"}

    with pytest.raises(ValidationError, match="rule ids must be unique, repeated: dup"):
        RouterSettings.model_validate({"classification_rules": [rule, rule]})


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("dedup_similarity_threshold", 0),
        ("dedup_similarity_threshold", 1.5),
        ("classification_threshold", -0.1),
        ("default_team", "Not A Team Id"),
        ("unknown_key", 1),
    ],
)
def test_out_of_range_or_unknown_values_are_rejected(key: str, value: object) -> None:
    with pytest.raises(ValidationError, match=key):
        RouterSettings.model_validate({key: value})


def test_every_settings_field_is_described() -> None:
    missing = [name for name, f in RouterSettings.model_fields.items() if not f.description]

    assert missing == []
