"""`okno serve` as an operator runs it, in webhook mode and in polling mode, against the fake
Bot API: the employee's ticket goes from first message to a closed ticket rated 5."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from okno.settings import Settings
from tests.fakes.service import Service, free_port
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.telegram.harness import (
    AGENTS,
    ANNA,
    IVAN,
    SECRET,
    TOKEN,
    buttons_of,
    callback,
    eventually,
    group_message,
    private_message,
)
from ticketing import telegram_store
from ticketing.db import Database
from ticketing.domain import Status, Ticket
from ticketing.repository import TicketFilter, TicketRepository

Deliver = Callable[[dict[str, Any]], Awaitable[None]]
USER = IVAN["id"]


def telegram_service(settings: Settings, fake: FakeTelegramAPI, mode: str, log: Path) -> Service:
    """``okno serve`` with the Telegram channel on, talking to ``fake``."""
    port = free_port()
    return Service(
        settings,
        port,
        log,
        {
            "OKNO_NOTIFY__POLL_INTERVAL_SECONDS": "0.1",
            "OKNO_TELEGRAM__ENABLED": "true",
            "OKNO_TELEGRAM__TOKEN": TOKEN,
            "OKNO_TELEGRAM__API_BASE_URL": fake.base_url,
            "OKNO_TELEGRAM__MODE": mode,
            "OKNO_TELEGRAM__WEBHOOK_SECRET": SECRET,
            "OKNO_TELEGRAM__WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram/webhook",
            "OKNO_TELEGRAM__AGENTS_CHAT_ID": str(AGENTS),
            "OKNO_TELEGRAM__POLLING_TIMEOUT_SECONDS": "1",
            "OKNO_TELEGRAM__DESK_POLL_SECONDS": "0.1",
            "OKNO_TELEGRAM__LIMITS__PER_CHAT_PER_SECOND": "20",
        },
    )


async def only_ticket(db: Database) -> Ticket | None:
    async with db.read() as session:
        found = await TicketRepository(session).list(TicketFilter())
    return found[0] if len(found) == 1 else None


async def journey(deliver: Deliver, fake: FakeTelegramAPI, db: Database) -> Ticket:
    """SPEC §5 from the employee's first message to the rating, through the real service."""
    await deliver(private_message(IVAN, "Не печатает принтер на 3 этаже"))
    ticket = await eventually(lambda: only_ticket(db), within=30)
    await eventually(lambda: fake.texts(USER), within=30)

    async def card() -> int | None:
        async with db.read() as session:
            found = await telegram_store.card(session, ticket.number)
        return found.thread_id if found and found.card_message_id else None

    thread = await eventually(card, within=30)
    await deliver(group_message(ANNA, "Иван, техник уже идёт", thread=thread))
    await eventually(lambda: any("техник уже идёт" in t for t in fake.texts(USER)), within=30)

    await deliver(group_message(ANNA, "/resolve Заменили картридж", thread=thread))
    asked = await eventually(
        lambda: [c for c in fake.sent(USER) if "Проблема решена?" in str(c.params)], within=30
    )
    await deliver(callback(IVAN, buttons_of(asked[0].params["reply_markup"])["✅ Да"], USER, 1))
    rate = await eventually(
        lambda: [c for c in fake.sent(USER) if "1 (плохо)" in str(c.params)], within=30
    )
    await deliver(callback(IVAN, buttons_of(rate[0].params["reply_markup"])["5"], USER, 2))

    async def rated() -> Ticket | None:
        found = await only_ticket(db)
        return found if found and found.rating == 5 else None

    found: Ticket = await eventually(rated, within=30)
    return found


@pytest.mark.timeout(180)
async def test_okno_serve_in_polling_mode_carries_the_whole_journey(
    settings: Settings, fake_api: FakeTelegramAPI, tmp_path: Path
) -> None:
    service = telegram_service(settings, fake_api, "polling", tmp_path / "service.log")
    db = Database(settings.database)
    service.start()
    try:
        await service.wait_ready()

        async def deliver(update: dict[str, Any]) -> None:
            await fake_api.push_update(update)

        ticket = await journey(deliver, fake_api, db)
    finally:
        code = await service.stop_async()
        await db.dispose()
    assert ticket.status is Status.CLOSED
    assert code == 0, service.log.read_text()
    assert fake_api.calls_of("getUpdates")


@pytest.mark.timeout(180)
async def test_okno_serve_in_webhook_mode_carries_the_whole_journey(
    settings: Settings, fake_api: FakeTelegramAPI, tmp_path: Path
) -> None:
    service = telegram_service(settings, fake_api, "webhook", tmp_path / "service.log")
    db = Database(settings.database)
    service.start()
    url = f"http://127.0.0.1:{service.port}/telegram/webhook"
    ids = iter(range(800000001, 800001000))
    try:
        await service.wait_ready()
        await eventually(lambda: fake_api.webhook, within=30)
        assert fake_api.webhook["secret_token"] == SECRET

        async with aiohttp.ClientSession() as http:

            async def deliver(update: dict[str, Any]) -> None:
                headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
                body = {"update_id": next(ids), **update}
                async with http.post(url, json=body, headers=headers) as response:
                    assert response.status == 200, await response.text()

            async with http.post(url, json={"update_id": 1, **private_message(IVAN, "x")}) as bad:
                assert bad.status == 401
            ticket = await journey(deliver, fake_api, db)
    finally:
        code = await service.stop_async()
        await db.dispose()
    assert ticket.status is Status.CLOSED
    assert code == 0, service.log.read_text()
    assert fake_api.calls_of("getUpdates") == []
