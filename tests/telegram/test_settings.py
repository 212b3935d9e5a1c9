"""Telegram settings fail early, naming the key, when the channel could not work."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from channels.telegram.settings import TelegramMode, TelegramSettings


def test_disabled_channel_needs_nothing() -> None:
    assert TelegramSettings().enabled is False


def test_enabled_channel_needs_a_token_shaped_like_botfathers() -> None:
    with pytest.raises(ValidationError, match="OKNO_TELEGRAM__TOKEN"):
        TelegramSettings(enabled=True)
    with pytest.raises(ValidationError, match="OKNO_TELEGRAM__TOKEN"):
        TelegramSettings(enabled=True, token=SecretStr("not a token"))
    assert TelegramSettings(enabled=True, token=SecretStr("123:ABC-def_1")).enabled


def test_webhook_mode_needs_a_secret() -> None:
    with pytest.raises(ValidationError, match="webhook_secret"):
        TelegramSettings(enabled=True, token=SecretStr("1:A"), mode=TelegramMode.WEBHOOK)


def test_time_zone_and_urls_are_checked() -> None:
    with pytest.raises(ValidationError, match="unknown time zone"):
        TelegramSettings(timezone="Mars/Olympus")
    with pytest.raises(ValidationError, match="http"):
        TelegramSettings(api_base_url="ftp://example.org")
    assert TelegramSettings(api_base_url="http://127.0.0.1:8081/").api_base_url == (
        "http://127.0.0.1:8081"
    )
