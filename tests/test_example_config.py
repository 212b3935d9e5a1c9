"""okno.example.yaml documents every key and stays valid."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from okno.example_config import render_example
from okno.settings import Settings, load_settings

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
