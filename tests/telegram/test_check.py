"""``okno check`` for Telegram: token, agents' group and topic rights, webhook."""

from __future__ import annotations

from channels.telegram.settings import TelegramMode
from okno import wire_telegram
from okno.settings import Settings
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.telegram.harness import AGENTS, telegram_settings


async def test_check_reports_the_bot_and_a_forum_it_may_manage(
    settings: Settings, fake_api: FakeTelegramAPI
) -> None:
    fake_api.add_member(AGENTS, fake_api.bot_id, "administrator")

    results = await wire_telegram.check(telegram_settings(settings, fake_api.base_url))

    assert results == [
        ("telegram", True, f"@okno_test_bot via {fake_api.base_url}"),
        ("telegram agents' group", True, "Agents (forum: one topic per ticket)"),
    ]


async def test_check_fails_when_the_bot_cannot_manage_topics_or_the_webhook_is_elsewhere(
    settings: Settings, fake_api: FakeTelegramAPI
) -> None:
    fake_api.add_member(AGENTS, fake_api.bot_id, "member")
    configured = telegram_settings(
        settings,
        fake_api.base_url,
        mode=TelegramMode.WEBHOOK,
        webhook_url="https://okno.example/telegram/webhook",
    )

    results = await wire_telegram.check(configured)

    assert [(name, ok) for name, ok, _ in results] == [
        ("telegram", True),
        ("telegram agents' group", False),
        ("telegram webhook", False),
    ]


async def test_check_says_so_when_the_api_is_unreachable(settings: Settings) -> None:
    results = await wire_telegram.check(telegram_settings(settings, "http://127.0.0.1:9"))

    assert [(name, ok) for name, ok, _ in results] == [("telegram", False)]
