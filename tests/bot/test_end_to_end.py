"""The whole journey through the running service, polling the fake Bot API (SPEC §5, §6.1)."""

from __future__ import annotations

from okno.settings import Settings
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.telegram.harness import (
    AGENTS,
    ANNA,
    IVAN,
    buttons_of,
    callback,
    eventually,
    group_message,
    private_message,
    running,
    telegram_settings,
)
from ticketing.domain import Status

USER = IVAN["id"]


async def test_ticket_goes_from_message_to_rating_when_everyone_uses_telegram(
    settings: Settings, fake_api: FakeTelegramAPI
) -> None:
    async with running(telegram_settings(settings, fake_api.base_url), fake_api) as desk:
        await desk.send(private_message(IVAN, "Не печатает принтер на 3 этаже, комната 312"))

        [ticket] = await eventually(desk.tickets)
        acknowledgement = await eventually(lambda: fake_api.texts(USER))
        assert f"#{ticket.number}" in acknowledgement[0]
        thread = await eventually(lambda: desk.topic_of(ticket.number))
        card = await eventually(lambda: fake_api.sent(AGENTS, "sendMessage"))
        assert f"#{ticket.number}" in fake_api.texts(AGENTS)[0]
        assert set(buttons_of(card[0].params["reply_markup"])) == {
            "Взять",
            "Приоритет",
            "Ожидание",
            "Решено",
            "Дубликат",
        }

        await desk.send(group_message(ANNA, "Иван, техник будет через 30 минут.", thread=thread))
        await eventually(lambda: any("техник будет" in t for t in fake_api.texts(USER)))

        await desk.send(group_message(ANNA, "/resolve Заменили картридж", thread=thread))
        resolved = await eventually(
            lambda: [c for c in fake_api.sent(USER) if "Проблема решена?" in str(c.params)]
        )
        yes = buttons_of(resolved[0].params["reply_markup"])["✅ Да"]
        await desk.send(callback(IVAN, yes, USER, 1))
        await eventually(lambda: [c for c in fake_api.sent(USER) if "1 (плохо)" in str(c.params)])
        rate = next(c for c in fake_api.sent(USER) if "1 (плохо)" in str(c.params))
        five = buttons_of(rate.params["reply_markup"])["5"]
        await desk.send(callback(IVAN, five, USER, 2))

        async def rated() -> bool:
            found = await desk.ticket(ticket.number)
            return found.rating == 5 and found.status is Status.CLOSED

        await eventually(rated)
        await eventually(lambda: fake_api.topic(AGENTS, thread).closed)  # type: ignore[union-attr]
