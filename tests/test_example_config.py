"""okno.example.yaml documents every key and stays valid."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from okno.example_config import render_example
from okno.settings import Settings, load_settings
from sla.settings import SlaSettings

EXAMPLE = Path(__file__).resolve().parent.parent / "okno.example.yaml"


def test_committed_example_matches_the_settings_models() -> None:
    assert EXAMPLE.read_text(encoding="utf-8") == render_example(), (
        "okno.example.yaml is stale: regenerate it with `okno config-example > okno.example.yaml`"
    )


def test_example_loads_as_valid_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OKNO_CONFIG", raising=False)
    settings = load_settings(EXAMPLE)
    assert settings.http.port == 8080
    assert settings.router.priority_rules


def test_every_settings_key_appears_in_the_example() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    for name, field in Settings.model_fields.items():
        key = field.alias or name
        assert key in data or f"# {key}:" in text, key


def test_invalid_value_fails_with_the_key_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("OKNO_CONFIG", raising=False)
    bad = tmp_path / "bad.yaml"
    bad.write_text("http:\n  port: 99999\nticketing:\n  default_timezone: Mars/Olympus\n")
    with pytest.raises(ValueError, match=r"http\.port") as caught:
        load_settings(bad)
    assert "ticketing.default_timezone" in str(caught.value)
    assert "unknown time zone" in str(caught.value)


def uncomment_samples(text: str) -> str:
    """The example with each commented-out list item put in, as a user would: ``key: []``
    and ``# key:`` become ``key:``, and the ``# `` after the indentation goes."""
    lines, out, index = text.splitlines(), [], 0
    while index < len(lines):
        line = lines[index]
        empty = re.fullmatch(r"( *)(\w+): \[\]", line)
        if empty and index + 1 < len(lines) and lines[index + 1] == f"{empty[1]}# {empty[2]}:":
            indent = empty[1]
            out.append(f"{indent}{empty[2]}:")
            index += 2
            while index < len(lines) and lines[index].startswith(f"{indent}#   "):
                out.append(indent + lines[index][len(indent) + 2 :])
                index += 1
            continue
        out.append(line)
        index += 1
    return "\n".join(out) + "\n"


def test_commented_list_items_are_valid_yaml_when_uncommented() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    data: dict[str, Any] = yaml.safe_load(uncomment_samples(text))
    agreement = data["sla"]["agreements"][0]
    # Nested lists and objects keep their place inside the item.
    assert agreement["rules"][0] == {
        "reaction": "15m",
        "resolution": "4h",
        "priority": ["critical"],
        "type": [],
        "service": [],
    }
    assert agreement["default"] == {"reaction": "4h", "resolution": "2d"}
    assert [step["percent"] for step in agreement["ladder"]] == [75, 100, 150]
    assert agreement["requester"]["auto_close_after"] == "3d"
    for item in (data["services"][0], data["teams"][0], data["router"]["routing_rules"][0]):
        assert isinstance(item, dict)
        assert all(not key.startswith("#") for key in item)


def test_uncommented_agreement_loads_into_the_settings_when_given_an_id() -> None:
    data: dict[str, Any] = yaml.safe_load(uncomment_samples(EXAMPLE.read_text(encoding="utf-8")))
    agreement = {**data["sla"]["agreements"][0], "id": "gold", "companies": ["ООО Ромашка"]}
    sla = SlaSettings.model_validate({**data["sla"], "agreements": [agreement]})
    assert sla.agreements[0].rules[1].priority == ["high"]
    assert sla.agreements[0].ladder[2].level == "escalation"
