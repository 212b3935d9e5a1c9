"""Webhook mode inside okno's HTTP app: the secret is checked, 200 only once stored."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from channels.telegram.settings import TelegramMode
from okno.app import build_web_app
from okno.settings import Settings
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.telegram.harness import (
    AGENTS,
    ANNA,
    IVAN,
    SECRET,
    TelegramHarness,
    buttons_of,
    callback,
    eventually,
    fixture,
    group_message,
    running,
    telegram_settings,
)
from ticketing.domain import Status
from ticketing.models import InboundMessageRow

Client = TestClient[web.Request, web.Application]
PATH = "/telegram/webhook"


@pytest.fixture
async def webhook(
    settings: Settings, fake_api: FakeTelegramAPI
) -> AsyncIterator[tuple[TelegramHarness, Client]]:
    configured = telegram_settings(settings, fake_api.base_url, mode=TelegramMode.WEBHOOK)
    async with running(configured, fake_api) as desk:
        client = TestClient(TestServer(build_web_app(desk.okno)))
        await client.start_server()
        try:
            yield desk, client
        finally:
            await client.close()


async def post(client: Client, update: dict[str, Any], secret: str | None = SECRET) -> int:
    headers = {} if secret is None else {"X-Telegram-Bot-Api-Secret-Token": secret}
    response = await client.post(PATH, json=update, headers=headers)
    return response.status


async def stored(desk: TelegramHarness) -> int:
    async with desk.okno.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(InboundMessageRow)) or 0)


async def test_wrong_or_missing_secret_is_refused_and_changes_nothing(
    webhook: tuple[TelegramHarness, Client],
) -> None:
    desk, client = webhook
    update = fixture("01-private-text-message.json")

    assert await post(client, update, secret="guess") == 401
    assert await post(client, update, secret=None) == 401
    assert await stored(desk) == 0
    assert await desk.tickets() == []


async def test_update_is_stored_before_the_200_and_a_redelivery_is_one_ticket(
    webhook: tuple[TelegramHarness, Client], fake_api: FakeTelegramAPI
) -> None:
    desk, client = webhook
    update = fixture("01-private-text-message.json")

    assert await post(client, update) == 200
    assert await stored(desk) == 1  # acknowledged only after the durable write
    assert await post(client, update) == 200

    await eventually(lambda: fake_api.texts(IVAN["id"]))
    assert len(await desk.tickets()) == 1
    assert await stored(desk) == 1


async def test_agent_reply_through_the_webhook_reaches_the_requester(
    webhook: tuple[TelegramHarness, Client], fake_api: FakeTelegramAPI
) -> None:
    desk, client = webhook
    assert await post(client, fixture("01-private-text-message.json")) == 200
    [ticket] = await eventually(desk.tickets)
    thread = await eventually(lambda: desk.topic_of(ticket.number))
    await eventually(lambda: desk.card_of(ticket.number))

    reply = group_message(ANNA, "Техник уже идёт", thread=thread)
    assert await post(client, {"update_id": 700000001, **reply}) == 200

    await eventually(lambda: any("Техник уже идёт" in t for t in fake_api.texts(IVAN["id"])))
    assert fake_api.calls_of("getUpdates") == []  # no polling in webhook mode
    assert fake_api.topics(AGENTS)


async def test_redelivered_button_press_closes_once_and_still_offers_the_rating(
    webhook: tuple[TelegramHarness, Client], fake_api: FakeTelegramAPI
) -> None:
    desk, client = webhook
    assert await post(client, fixture("01-private-text-message.json")) == 200
    [ticket] = await eventually(desk.tickets)
    async with desk.okno.db.transaction() as session:
        await desk.okno.tickets.change_status(
            session, ticket.number, Status.RESOLVED, actor="anna", now=desk.okno.now()
        )
    asked = await eventually(
        lambda: [c for c in fake_api.sent(IVAN["id"]) if "Проблема решена?" in str(c.params)]
    )
    yes = buttons_of(asked[0].params["reply_markup"])["✅ Да"]
    press = {"update_id": 700000009, **callback(IVAN, yes, IVAN["id"], 1)}

    assert await post(client, press) == 200
    assert await post(client, press) == 200  # Telegram did not see our first 200

    rating_offers = await eventually(
        lambda: (
            len(found := [c for c in fake_api.sent(IVAN["id"]) if "1 (плохо)" in str(c.params)])
            == 2
            and found
        )
    )
    assert len(rating_offers) == 2
    history = await desk.history(ticket.number)
    assert [e.data["new"] for e in history if e.kind == "status_changed"] == [
        "resolved",
        "closed",
    ]
