"""Calls in the agents' group: call-back cards, their buttons, logged calls and phone-only
replies, with the phone channel's call API and the fake Bot API both running (issue 5)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from channels.phone.settings import PhoneSettings
from okno.api.auth import create_token
from okno.app import build_web_app
from okno.settings import Settings
from tests.fakes.telegram_api import Call, FakeTelegramAPI
from tests.telegram.harness import (
    AGENTS,
    ANNA,
    TelegramHarness,
    buttons_of,
    callback,
    eventually,
    group_message,
    running,
    telegram_settings,
)
from ticketing.domain import Ticket, TicketEvent

CALLER = "+79121234567"
STRANGER: dict[str, Any] = {"id": 555, "is_bot": False, "first_name": "Eve"}


def desk_settings(settings: Settings, fake: FakeTelegramAPI, *, attempts: int = 3) -> Settings:
    configured = telegram_settings(settings, fake.base_url)
    phone = PhoneSettings(enabled=True, callback_attempts=attempts)
    return configured.model_copy(update={"phone": phone})


@contextlib.asynccontextmanager
async def call_api(desk: TelegramHarness) -> AsyncIterator[Any]:
    """POST a call record to ``/api/v1/calls`` of the running service."""
    token = await create_token(desk.okno.db, "pbx", desk.okno.now)
    async with TestClient(TestServer(build_web_app(desk.okno))) as client:

        async def post(call_id: str, result: str = "missed") -> dict[str, Any]:
            response = await client.post(
                "/api/v1/calls",
                json={
                    "call_id": call_id,
                    "direction": "in",
                    "from": "8 (912) 123-45-67",
                    "to": "74951234567",
                    "started_at": "2026-11-22T09:00:00+03:00",
                    "result": result,
                },
                headers={"Authorization": f"Bearer {token}"},
            )
            assert response.status in {200, 201, 202}, await response.text()
            return dict(await response.json())

        yield post


def prompts(fake: FakeTelegramAPI) -> list[Call]:
    """Call-back requests posted in the group: the two call buttons, and not a card."""
    return [
        c
        for c in fake.sent(AGENTS, "sendMessage")
        if "Не дозвонился" in buttons_of(c.params.get("reply_markup"))
        and "Статус:" not in c.result["text"]
    ]


def card_text(fake: FakeTelegramAPI, message_id: int | None) -> str:
    message = fake.message(AGENTS, message_id or 0)
    return "" if message is None else str(message["text"])


def card_buttons_now(fake: FakeTelegramAPI, message_id: int | None) -> dict[str, str]:
    message = fake.message(AGENTS, message_id or 0)
    return {} if message is None else buttons_of(message.get("reply_markup"))


async def attempts(desk: TelegramHarness, number: int) -> list[TicketEvent]:
    return [e for e in await desk.history(number) if e.kind == "callback_attempt"]


async def missed_call_ticket(desk: TelegramHarness, post: Any) -> tuple[Ticket, int, int]:
    """A missed call opens a ticket; returns it, its topic and its card's message id."""
    answer = await post("c-1")
    number = int(answer["ticket_number"])
    thread = await eventually(lambda: desk.topic_of(number))
    card = await eventually(lambda: desk.card_of(number))
    return await desk.ticket(number), thread, card.card_message_id


async def test_missed_call_card_offers_call_buttons_that_only_agents_can_press(
    settings: Settings, fake_api: FakeTelegramAPI
) -> None:
    async with (
        running(desk_settings(settings, fake_api), fake_api) as desk,
        call_api(desk) as post,
    ):
        ticket, thread, card_id = await missed_call_ticket(desk, post)

        [prompt] = await eventually(lambda: prompts(fake_api))
        assert prompt.params["message_thread_id"] == str(thread)
        assert "Пропущенный звонок" in prompt.result["text"]
        assert CALLER in prompt.result["text"]
        card = await eventually(lambda: "Ждёт звонка" in card_text(fake_api, card_id))
        assert card
        assert f"Связь только по телефону: {CALLER}" in card_text(fake_api, card_id)
        on_card = card_buttons_now(fake_api, card_id)
        assert {"📞 Перезвонил", "Не дозвонился", "Взять"} <= set(on_card)

        # Someone outside the agents' group: refused, nothing recorded.
        await desk.send(callback(STRANGER, on_card["Не дозвонился"], AGENTS, card_id))
        await eventually(
            lambda: any(
                "участники группы" in str(c.params.get("text"))
                for c in fake_api.calls_of("answerCallbackQuery")
            )
        )
        assert await attempts(desk, ticket.number) == []

        # Anna's press, delivered twice by Telegram, counts once.
        press = callback(ANNA, on_card["Не дозвонился"], AGENTS, card_id)
        update_id = await desk.send(press)
        await desk.send({**press, "update_id": update_id})
        await eventually(lambda: attempts(desk, ticket.number))
        await eventually(lambda: "без ответа: 1" in card_text(fake_api, card_id))
        await eventually(
            lambda: any(
                "Anna: не дозвонился (попыток без ответа: 1)" in t for t in fake_api.texts(AGENTS)
            )
        )
        [missed] = await attempts(desk, ticket.number)
        assert (missed.actor, missed.data["reached"]) == ("Anna", False)

        await desk.send(callback(ANNA, prompt_buttons(prompt)["📞 Перезвонил"], AGENTS, 1))

        async def reached() -> bool:
            return len(await attempts(desk, ticket.number)) == 2

        await eventually(reached)
        await eventually(lambda: "Ждёт звонка" not in card_text(fake_api, card_id))
        assert "Не дозвонился" not in card_buttons_now(fake_api, card_id)
        await eventually(lambda: any("Anna: дозвонился" in t for t in fake_api.texts(AGENTS)))


def prompt_buttons(prompt: Call) -> dict[str, str]:
    return buttons_of(prompt.params["reply_markup"])


async def test_second_missed_call_is_logged_in_the_topic_and_asks_again(
    settings: Settings, fake_api: FakeTelegramAPI
) -> None:
    async with (
        running(desk_settings(settings, fake_api), fake_api) as desk,
        call_api(desk) as post,
    ):
        ticket, thread, _card = await missed_call_ticket(desk, post)
        await eventually(lambda: prompts(fake_api))

        answer = await post("c-2")

        assert answer["ticket_number"] == ticket.number
        logged = await eventually(
            lambda: [
                c
                for c in fake_api.sent(AGENTS, "sendMessage")
                if str(c.result.get("text", "")).startswith("📞 Входящий звонок")
            ]
        )
        assert logged[0].params["message_thread_id"] == str(thread)
        assert "+7 912 123-45-67" in logged[0].result["text"]
        await eventually(lambda: len(prompts(fake_api)) == 2)
        assert len(await desk.tickets()) == 1


async def test_reply_to_a_phone_only_requester_becomes_a_call_back_prompt(
    settings: Settings, fake_api: FakeTelegramAPI
) -> None:
    async with (
        running(desk_settings(settings, fake_api), fake_api) as desk,
        call_api(desk) as post,
    ):
        ticket, thread, _card = await missed_call_ticket(desk, post)
        await eventually(lambda: prompts(fake_api))
        private_before = [c for c in fake_api.calls if (c.chat_id or 0) > 0]

        # A reply typed in the topic, then one from outside the group (the API, the web).
        await desk.send(group_message(ANNA, "Перезагрузите роутер, пожалуйста", thread=thread))
        await eventually(lambda: len(prompts(fake_api)) == 2)
        async with desk.okno.db.transaction() as session:
            await desk.okno.tickets.add_agent_comment(
                session,
                ticket.number,
                author_name="Борис",
                text="Роутер заменим завтра",
                public=True,
                now=desk.okno.now(),
            )

        [_, typed, external] = await eventually(
            lambda: len(found := prompts(fake_api)) == 3 and found
        )
        for asked, said in ((typed, "Перезагрузите роутер"), (external, "Роутер заменим")):
            assert asked.params["message_thread_id"] == str(thread)
            assert "только по телефону" in asked.result["text"]
            assert said in asked.result["text"]
            assert CALLER in asked.result["text"]
        # The external reply is shown once, and the call-back asked for once (by the prompt).
        texts = fake_api.texts(AGENTS)
        assert sum("Роутер заменим завтра" in t for t in texts) == 2  # the line, the prompt
        assert not any("Перезвоните заявителю" in t for t in texts)
        assert [c for c in fake_api.calls if (c.chat_id or 0) > 0] == private_before

        # Resolving without words: the call is to say it is resolved.
        await desk.send(group_message(ANNA, "/resolve", thread=thread))
        resolved = await eventually(lambda: len(found := prompts(fake_api)) == 4 and found[3])
        assert "скажите, что заявка решена" in resolved.result["text"]
        history = await desk.history(ticket.number)
        assert [e.data["reason"] for e in history if e.kind == "callback_needed"] == [
            "missed_call",
            "public_reply",
            "public_reply",
            "resolved",
        ]


async def test_agents_hear_when_call_backs_are_given_up(
    settings: Settings, fake_api: FakeTelegramAPI
) -> None:
    async with (
        running(desk_settings(settings, fake_api, attempts=2), fake_api) as desk,
        call_api(desk) as post,
    ):
        ticket, _thread, card_id = await missed_call_ticket(desk, post)
        [prompt] = await eventually(lambda: prompts(fake_api))
        no_answer = prompt_buttons(prompt)["Не дозвонился"]

        for _ in range(2):
            await desk.send(callback(ANNA, no_answer, AGENTS, prompt.result["message_id"]))

        await eventually(
            lambda: any("Не удаётся дозвониться" in t for t in fake_api.texts(AGENTS))
        )
        assert len(await attempts(desk, ticket.number)) == 2
        await eventually(lambda: "без ответа: 2" in card_text(fake_api, card_id))
