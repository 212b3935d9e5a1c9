"""A storm of 429s from Telegram delays messages but loses none and doubles none."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from channels.telegram.settings import TelegramLimits
from okno.settings import Settings
from tests.fakes.telegram_api import FakeTelegramAPI, limit_violations
from tests.telegram.harness import (
    AGENTS,
    eventually,
    private_message,
    running,
    telegram_settings,
)
from ticketing.models import OutboxRow
from ticketing.rows_telegram import TelegramDeskJobRow

PEOPLE: list[dict[str, Any]] = [
    {"id": 200000000 + n, "is_bot": False, "first_name": f"Сотрудник {n}", "language_code": "ru"}
    for n in range(8)
]


async def test_429_storm_delays_but_loses_and_doubles_nothing(
    settings: Settings, fake_api: FakeTelegramAPI
) -> None:
    fake_api.storm(3.0, retry_after=1)
    async with running(telegram_settings(settings, fake_api.base_url), fake_api) as desk:
        for n, person in enumerate(PEOPLE):
            await desk.send(private_message(person, f"Проблема {n}: не работает {n}-й стенд"))

        for person in PEOPLE:
            await eventually(lambda p=person: fake_api.texts(p["id"]), within=30)
        await eventually(lambda: len(fake_api.topics(AGENTS)) == len(PEOPLE), within=30)

        async def settled() -> bool:
            async with desk.okno.db.read() as session:
                outbox = (await session.scalars(select(OutboxRow.state))).all()
                jobs = (await session.scalars(select(TelegramDeskJobRow.state))).all()
            return set(outbox) == {"sent"} and set(jobs) == {"done"}

        await eventually(settled, within=30)

    assert any(c.method == "sendMessage" and not c.ok for c in fake_api.calls)  # it did storm
    for person in PEOPLE:
        assert len(fake_api.texts(person["id"])) == 1
    cards = [t for t in fake_api.texts(AGENTS) if t.startswith("🆕")]
    assert len(cards) == len(PEOPLE)


async def test_real_limits_hold_in_chats_and_the_group_when_many_write_at_once(
    settings: Settings, fake_api: FakeTelegramAPI
) -> None:
    people = PEOPLE[:3]
    limits = TelegramLimits()  # Telegram's own: 1/s per chat, 20/min per group, 30/s overall
    async with running(
        telegram_settings(settings, fake_api.base_url, limits=limits), fake_api
    ) as desk:
        for n, person in enumerate(people):
            await desk.send(private_message(person, f"Не работает {n}-й стенд"))
            await desk.send(private_message(person, "/status"))
        for person in people:
            await eventually(lambda p=person: len(fake_api.texts(p["id"])) == 2, within=30)
        await eventually(lambda: len(fake_api.topics(AGENTS)) == len(people), within=30)
        await eventually(lambda: len(fake_api.texts(AGENTS)) == len(people), within=30)

    assert limit_violations(fake_api.calls) == []
