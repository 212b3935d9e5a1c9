"""``okno check`` for Telegram: token, agents' group and topic rights, webhook."""

from __future__ import annotations

from channels.telegram.settings import TelegramMode
from okno import commands, wire_telegram
from okno.settings import Settings
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.telegram.harness import AGENTS, TOKEN, telegram_settings


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


async def test_okno_check_reports_telegram_beside_the_database(
    settings: Settings, fake_api: FakeTelegramAPI
) -> None:
    fake_api.token = TOKEN
    fake_api.add_member(AGENTS, fake_api.bot_id, "administrator")

    results = await commands.check(telegram_settings(settings, fake_api.base_url))

    by_name = {name: (ok, detail) for name, ok, detail in results}
    assert by_name["database"][0]
    assert by_name["telegram"] == (True, f"@okno_test_bot via {fake_api.base_url}")
    assert by_name["telegram agents' group"][0]
    assert [c.method for c in fake_api.calls][:1] == ["getMe"]


async def test_okno_check_fails_on_a_token_telegram_rejects(
    settings: Settings, fake_api: FakeTelegramAPI
) -> None:
    fake_api.token = "123456:ANOTHER-TOKEN"

    results = await commands.check(telegram_settings(settings, fake_api.base_url))

    [telegram] = [r for r in results if r[0].startswith("telegram")]
    assert telegram == (
        "telegram",
        False,
        f"{fake_api.base_url} rejects the token: check OKNO_TELEGRAM__TOKEN",
    )
    assert [c.method for c in fake_api.calls] == []  # refused before any method ran


async def test_okno_check_says_nothing_of_telegram_when_it_is_off(settings: Settings) -> None:
    results = await commands.check(settings)

    assert not [name for name, _, _ in results if name.startswith("telegram")]


async def test_check_names_the_group_the_bot_cannot_see(
    settings: Settings, fake_api: FakeTelegramAPI
) -> None:
    fake_api.fail(status=400, description="Bad Request: chat not found", methods={"getChat"})

    results = await wire_telegram.check(telegram_settings(settings, fake_api.base_url))

    assert results[1] == (
        "telegram agents' group",
        False,
        f"{AGENTS}: Telegram server says - Bad Request: chat not found "
        "(is the bot a member of the group?)",
    )
