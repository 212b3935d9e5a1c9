"""The agents' group through the running service: replies, notes, commands, buttons, topics."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select

from channels.base import InboundMessage, Sender
from okno.settings import Settings
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.telegram.harness import (
    AGENTS,
    ANNA,
    IVAN,
    MARIA,
    TelegramHarness,
    buttons_of,
    callback,
    eventually,
    fixture,
    group_message,
    private_message,
    running,
    telegram_settings,
)
from ticketing.domain import ChannelKind, Priority, Status, Ticket
from ticketing.models import CommentRow, IdentityRow
from ticketing.rows_telegram import TelegramDeskJobRow

USER = IVAN["id"]


async def opened(
    desk: TelegramHarness, text: str = "Не печатает принтер", user: dict[str, Any] = IVAN
) -> tuple[Ticket, int]:
    """Someone (Ivan) opens a ticket; returns it and its topic once the card is there."""
    await desk.send(private_message(user, text))

    async def mine() -> list[Ticket]:
        return [t for t in await desk.tickets() if t.subject == text]

    [ticket] = await eventually(mine)
    thread = await eventually(lambda: desk.topic_of(ticket.number))
    await eventually(lambda: desk.card_of(ticket.number))
    return ticket, thread


async def comments(desk: TelegramHarness) -> list[tuple[str, bool, str]]:
    async with desk.okno.db.read() as session:
        rows = (await session.scalars(select(CommentRow).order_by(CommentRow.id))).all()
    return [(r.author_kind, r.public, r.body) for r in rows]


async def test_note_stays_private_and_a_photo_reply_reaches_the_requester(
    settings: Settings, fake_api: FakeTelegramAPI
) -> None:
    fake_api.add_file("AGENTPHOTO", b"\xff\xd8scheme")
    photo = [
        {
            "file_id": "AGENTPHOTO",
            "file_unique_id": "p",
            "width": 800,
            "height": 600,
            "file_size": 8,
        }
    ]
    async with running(telegram_settings(settings, fake_api.base_url), fake_api) as desk:
        ticket, thread = await opened(desk)
        await eventually(lambda: fake_api.texts(USER))

        await desk.send(group_message(ANNA, "// звонил, не отвечает", thread=thread))
        await desk.send(group_message(ANNA, "/note проверить картридж", thread=thread))
        await desk.send(
            group_message(ANNA, None, thread=thread, caption="Схема подключения", photo=photo)
        )

        photos = await eventually(lambda: fake_api.sent(USER, "sendPhoto"))
        [(name, content)] = photos[0].files.values()
        assert name.startswith("photo-")
        assert content == b"\xff\xd8scheme"
        assert any("Схема подключения" in t for t in fake_api.texts(USER))
        assert not any("картридж" in t or "не отвечает" in t for t in fake_api.texts(USER))
        assert await comments(desk) == [
            ("requester", True, "Не печатает принтер"),
            ("agent", False, "звонил, не отвечает"),
            ("agent", False, "проверить картридж"),
            ("agent", True, "Схема подключения"),
        ]
        assert (await desk.ticket(ticket.number)).first_reaction_at is not None


async def test_commands_change_the_ticket_and_bad_values_are_explained(
    settings: Settings, fake_api: FakeTelegramAPI
) -> None:
    async with running(telegram_settings(settings, fake_api.base_url), fake_api) as desk:
        master, _ = await opened(desk, "Не работает почта у всего отдела", MARIA)
        ticket, thread = await opened(desk, "Почта не открывается")

        for command in ("/take", "/prio высокий", "/type запрос", "/service email"):
            await desk.send(group_message(ANNA, command, thread=thread))
        await desk.send(group_message(ANNA, "/prio срочно-пресрочно", thread=thread))

        async def changed() -> Ticket | None:
            found = await desk.ticket(ticket.number)
            return found if found.service == "email" else None

        found = await eventually(changed)
        assert found.assignee == "anna_support"
        assert found.status is Status.IN_PROGRESS
        assert found.priority is Priority.HIGH
        assert found.type.value == "service_request"
        await eventually(lambda: any("срочно-пресрочно" in t for t in fake_api.texts(AGENTS)))

        await desk.send(group_message(ANNA, "/assign @boris", thread=thread))
        await desk.send(group_message(ANNA, f"/merge {master.number}", thread=thread))

        async def merged() -> Ticket | None:
            found = await desk.ticket(ticket.number)
            return found if found.status is Status.CLOSED else None

        found = await eventually(merged)
        assert (found.assignee, found.duplicate_of) == ("boris", master.number)
        await eventually(lambda: fake_api.topic(AGENTS, thread).closed)  # type: ignore[union-attr]


async def test_card_buttons_take_and_set_priority(
    settings: Settings, fake_api: FakeTelegramAPI
) -> None:
    async with running(telegram_settings(settings, fake_api.base_url), fake_api) as desk:
        ticket, thread = await opened(desk)
        card = next(
            c
            for c in fake_api.sent(AGENTS, "sendMessage")
            if c.params.get("message_thread_id") == str(thread)
        )
        buttons = buttons_of(card.params["reply_markup"])
        card_id = card.result["message_id"]

        await desk.send(callback(ANNA, buttons["Взять"], AGENTS, card_id))
        await desk.send(callback(ANNA, buttons["Приоритет"], AGENTS, card_id))
        menu = await eventually(lambda: fake_api.calls_of("editMessageReplyMarkup"))
        critical = buttons_of(menu[0].params["reply_markup"])["критический"]
        await desk.send(callback(ANNA, critical, AGENTS, card_id))

        async def taken() -> Ticket | None:
            found = await desk.ticket(ticket.number)
            return found if found.priority is Priority.CRITICAL else None

        found = await eventually(taken)
        assert (found.assignee, found.status) == ("anna_support", Status.IN_PROGRESS)


async def test_people_outside_the_agents_group_cannot_act(
    settings: Settings, fake_api: FakeTelegramAPI
) -> None:
    stranger: dict[str, Any] = {"id": 555, "is_bot": False, "first_name": "Eve"}
    async with running(telegram_settings(settings, fake_api.base_url), fake_api) as desk:
        ticket, thread = await opened(desk)

        await desk.send(group_message(stranger, "Всё починили, закрываю", thread=thread))
        await desk.send(group_message(stranger, "/close", thread=thread))

        await eventually(lambda: sum("участники группы" in t for t in fake_api.texts(AGENTS)) == 2)
        assert (await desk.ticket(ticket.number)).status is Status.NEW
        assert len(await comments(desk)) == 1


async def test_deleted_topic_is_recreated_with_a_new_card(
    settings: Settings, fake_api: FakeTelegramAPI
) -> None:
    async with running(telegram_settings(settings, fake_api.base_url), fake_api) as desk:
        ticket, thread = await opened(desk)
        fake_api.delete_topic(AGENTS, thread)

        # A reply from outside the group (the API, the web) is posted into the ticket's topic.
        async with desk.okno.db.transaction() as session:
            await desk.okno.tickets.add_agent_comment(
                session,
                ticket.number,
                author_name="Борис",
                text="Ещё и бумага застревает?",
                public=True,
                now=desk.okno.now(),
            )

        new_thread = await eventually(lambda: (t := desk.topic_of(ticket.number)) != thread and t)

        def in_new_topic() -> list[str]:
            return [
                str(c.params["text"])
                for c in fake_api.sent(AGENTS, "sendMessage")
                if c.params.get("message_thread_id") == str(new_thread)
            ]

        texts = await eventually(lambda: len(in_new_topic()) >= 2 and in_new_topic())
        assert f"#{ticket.number}" in texts[0]
        assert "Статус" in texts[0]
        assert "бумага застревает" in texts[1]


async def test_requester_who_blocked_the_bot_is_marked_and_the_agents_are_told(
    settings: Settings, fake_api: FakeTelegramAPI
) -> None:
    async with running(telegram_settings(settings, fake_api.base_url), fake_api) as desk:
        ticket, thread = await opened(desk)
        await eventually(lambda: fake_api.texts(USER))
        fake_api.blocked.add(USER)

        await desk.send(group_message(ANNA, "Перезагрузите принтер, пожалуйста", thread=thread))

        await eventually(lambda: any("заблокировал бота" in t for t in fake_api.texts(AGENTS)))
        async with desk.okno.db.read() as session:
            identity = await session.scalar(
                select(IdentityRow).where(IdentityRow.kind == "telegram")
            )
        assert identity is not None
        assert identity.unreachable
        history = await desk.history(ticket.number)
        assert any(e.kind == "notification_failed" for e in history)

        fake_api.blocked.discard(USER)  # unblocked: writing again makes them reachable
        await desk.send(private_message(IVAN, "Спасибо, всё заработало"))

        async def reachable() -> bool:
            async with desk.okno.db.read() as session:
                flag = await session.scalar(
                    select(IdentityRow.unreachable).where(IdentityRow.kind == "telegram")
                )
            return flag is False

        await eventually(reachable)


async def test_general_topic_chatter_is_left_alone(
    settings: Settings, fake_api: FakeTelegramAPI
) -> None:
    async with running(telegram_settings(settings, fake_api.base_url), fake_api) as desk:
        await desk.send(fixture("08-group-general-topic-message.json"))
        await desk.send(group_message(ANNA, "Коллеги, кто сегодня дежурит?"))
        await eventually(lambda: not fake_api.pending_updates())

        assert await desk.tickets() == []
        assert fake_api.sent(AGENTS) == []


async def test_reply_to_the_card_is_a_public_reply_when_the_group_is_no_forum(
    settings: Settings, fake_api: FakeTelegramAPI
) -> None:
    fake_api.forums.discard(AGENTS)
    async with running(telegram_settings(settings, fake_api.base_url), fake_api) as desk:
        await desk.send(private_message(IVAN, "Не работает мышь"))
        [ticket] = await eventually(desk.tickets)
        card = await eventually(lambda: fake_api.sent(AGENTS, "sendMessage"))
        assert card[0].result["message_id"] == 1000
        assert "Взять" in str(card[0].params)
        await eventually(lambda: desk.card_of(ticket.number))

        reply_to = {
            "message_id": 1000,
            "date": 1,
            "chat": {"id": AGENTS, "type": "supergroup"},
            "text": "card",
        }
        await desk.send(group_message(ANNA, "Замените батарейки", reply_to_message=reply_to))

        await eventually(lambda: any("батарейки" in t for t in fake_api.texts(USER)))
        assert fake_api.topics(AGENTS) == {}
        assert (await desk.ticket(ticket.number)).first_reaction_at is not None


async def test_call_back_request_offers_buttons_that_record_the_attempt(
    settings: Settings, fake_api: FakeTelegramAPI
) -> None:
    async with running(telegram_settings(settings, fake_api.base_url), fake_api) as desk:
        ticket, _thread = await opened(desk)
        async with desk.okno.db.transaction() as session:
            await desk.okno.tickets.request_callback(
                session, ticket.number, key="missed-1", reason="missed_call", now=desk.okno.now()
            )

        prompt = await eventually(
            lambda: [
                c
                for c in fake_api.sent(AGENTS, "sendMessage")
                if "перезвонить заявителю" in str(c.params)
            ]
        )
        buttons = buttons_of(prompt[0].params["reply_markup"])
        await desk.send(callback(ANNA, buttons["Не дозвонился"], AGENTS, 1))
        await desk.send(callback(ANNA, buttons["📞 Перезвонил"], AGENTS, 1))

        async def attempts() -> list[bool]:
            history = await desk.history(ticket.number)
            found = [bool(e.data["reached"]) for e in history if e.kind == "callback_attempt"]
            return found if len(found) == 2 else []

        assert await eventually(attempts) == [False, True]
        await eventually(lambda: any("Anna: дозвонился" in t for t in fake_api.texts(AGENTS)))


async def test_card_work_waits_in_the_database_until_the_telegram_role_runs(
    settings: Settings, fake_api: FakeTelegramAPI
) -> None:
    configured = telegram_settings(settings, fake_api.base_url)
    async with running(configured, fake_api, workers=False) as desk:
        # A ticket from another channel, while no telegram worker is up (or it just died).
        result = await desk.okno.intake.accept(
            InboundMessage(
                channel=ChannelKind.API,
                external_id="crm-1",
                sender=Sender(name="Ольга", email="olga@example.ru"),
                text="Не работает 1С у бухгалтерии",
            )
        )
        async with desk.okno.db.read() as session:
            jobs = (await session.scalars(select(TelegramDeskJobRow.state))).all()
        assert jobs == ["pending"]
        assert fake_api.sent(AGENTS) == []

        worker = asyncio.create_task(desk.okno.runners["telegram"](desk.stop))
        thread = await eventually(lambda: desk.topic_of(result.ticket_number or 0))
        await eventually(lambda: desk.card_of(result.ticket_number or 0))
        desk.stop.set()
        await worker

    card = [
        c
        for c in fake_api.sent(AGENTS, "sendMessage")
        if c.params.get("message_thread_id") == str(thread)
    ]
    assert "Ольга · API" in str(card[0].params["text"])
