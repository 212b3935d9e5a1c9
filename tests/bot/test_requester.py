"""The requester's side through the running service: status, callbacks, redelivery, files."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.linking import link_payload
from okno.settings import Settings
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.telegram.harness import (
    IVAN,
    JOHN,
    MARIA,
    buttons_of,
    callback,
    eventually,
    fixture,
    private_message,
    running,
    telegram_settings,
)
from ticketing.domain import Status
from ticketing.models import AttachmentRow, CommentRow, ContactRow, IdentityRow


async def test_status_question_in_russian_lists_only_the_askers_open_tickets(
    settings: Settings, fake_api: FakeTelegramAPI
) -> None:
    async with running(telegram_settings(settings, fake_api.base_url), fake_api) as desk:
        await desk.send(private_message(IVAN, "Не работает VPN из дома"))
        await desk.send(private_message(MARIA, "Сломалась клавиатура на ресепшене"))
        await desk.send(private_message(IVAN, "Нужен доступ к папке бухгалтерии на сервере"))
        await eventually(lambda: len(fake_api.texts(IVAN["id"])) >= 2)
        await eventually(lambda: fake_api.texts(MARIA["id"]))

        await desk.send(private_message(IVAN, "что с моей заявкой?"))

        answer = await eventually(
            lambda: [
                c for c in fake_api.sent(IVAN["id"]) if "Ваши открытые заявки" in str(c.params)
            ]
        )
        text = answer[0].params["text"]
        assert "VPN" in text
        assert "бухгалтерии" in text
        assert "клавиатура" not in text
        assert "новая" in text
        assert "исполнитель" in text
        assert len(buttons_of(answer[0].params["reply_markup"])) == 2


async def test_status_detail_button_shows_the_ticket_to_its_requester_only(
    settings: Settings, fake_api: FakeTelegramAPI
) -> None:
    async with running(telegram_settings(settings, fake_api.base_url), fake_api) as desk:
        await desk.send(private_message(IVAN, "Не работает VPN из дома"))
        [ticket] = await eventually(desk.tickets)
        await desk.send(private_message(IVAN, "/status"))
        listing = await eventually(
            lambda: [c for c in fake_api.sent(IVAN["id"]) if "открытые заявки" in str(c.params)]
        )
        detail = next(iter(buttons_of(listing[-1].params["reply_markup"]).values()))

        # Maria replays Ivan's button data: refused, nothing shown to her.
        await desk.send(callback(MARIA, detail, MARIA["id"], 5))
        refusal = await eventually(lambda: fake_api.calls_of("answerCallbackQuery"))
        assert refusal[0].params["text"] == "Это действие вам недоступно."
        assert fake_api.texts(MARIA["id"]) == []

        await desk.send(callback(IVAN, detail, IVAN["id"], 5))
        shown = await eventually(lambda: [t for t in fake_api.texts(IVAN["id"]) if "Статус:" in t])
        assert shown[0].startswith(f"Заявка #{ticket.number} · Не работает VPN")
        assert "Статус: новая" in shown[0]


async def test_forged_callback_for_another_users_ticket_is_refused(
    settings: Settings, fake_api: FakeTelegramAPI
) -> None:
    async with running(telegram_settings(settings, fake_api.base_url), fake_api) as desk:
        await desk.send(private_message(IVAN, "Не печатает принтер"))
        [ticket] = await eventually(desk.tickets)
        signer = desk.okno_signer()
        # Data signed for Maria herself, but about Ivan's ticket: the database check refuses.
        forged = signer.pack(MARIA["id"], "ok", ticket.number)
        made_up = f"ok:{ticket.number}::AAAAAAAAAAA"

        await desk.send(callback(MARIA, forged, MARIA["id"], 9))
        await desk.send(callback(JOHN, made_up, JOHN["id"], 9))
        await desk.send(callback(MARIA, "rate:T-000123:5", MARIA["id"], 9))

        answers = await eventually(
            lambda: (
                len(fake_api.calls_of("answerCallbackQuery")) == 3
                and fake_api.calls_of("answerCallbackQuery")
            )
        )
        texts = sorted(a.params["text"] for a in answers)
        assert texts == sorted(["Это действие вам недоступно."] * 2 + ["You cannot do this."])
        assert (await desk.ticket(ticket.number)).status is Status.NEW


async def test_update_delivered_twice_creates_one_ticket(
    settings: Settings, fake_api: FakeTelegramAPI
) -> None:
    update = fixture("01-private-text-message.json")
    async with running(telegram_settings(settings, fake_api.base_url), fake_api) as desk:
        await desk.send(update)
        await eventually(desk.tickets)
        await desk.send(update)  # Telegram redelivers (we "failed" to answer in time)
        await desk.send({**update, "update_id": update["update_id"] + 100})
        await eventually(lambda: not fake_api.pending_updates())
        await eventually(lambda: fake_api.texts(IVAN["id"]))

        assert len(await desk.tickets()) == 1
        async with desk.okno.db.read() as session:
            comments = await session.scalar(select(func.count()).select_from(CommentRow))
        assert comments == 1
        assert len(fake_api.texts(IVAN["id"])) == 1


async def test_album_becomes_one_message_with_both_photos(
    settings: Settings, fake_api: FakeTelegramAPI
) -> None:
    fake_api.add_file("AgACAgIAAxkBAAMOZ0000000000000000000000000000000001", b"\xff\xd8one")
    fake_api.add_file("AgACAgIAAxkBAAMPZ0000000000000000000000000000000001", b"\xff\xd8two")
    async with running(telegram_settings(settings, fake_api.base_url), fake_api) as desk:
        await desk.send(fixture("11-private-album-part1.json"))
        await desk.send(fixture("12-private-album-part2.json"))
        await desk.send(fixture("12-private-album-part2.json"))  # redelivered part

        [ticket] = await eventually(desk.tickets)
        assert ticket.subject == "Two angles"
        async with desk.okno.db.read() as session:
            files = (await session.scalars(select(AttachmentRow.filename))).all()
        assert sorted(files) == ["photo-14.jpg", "photo-15.jpg"]


async def test_photo_and_document_are_attached_to_the_ticket(
    settings: Settings, fake_api: FakeTelegramAPI
) -> None:
    fake_api.add_file("AgACAgIAAxkBAAMMZ0000000000000000000000000000000003", b"\xff\xd8big")
    fake_api.add_file("BQACAgIAAxkBAAMNZ0000000000000000000000000000000001", b"%PDF-1.4 log")
    async with running(telegram_settings(settings, fake_api.base_url), fake_api) as desk:
        await desk.send(fixture("09-private-photo-with-caption.json"))
        [ticket] = await eventually(desk.tickets)
        await desk.send(fixture("10-private-document.json"))

        async def attachments() -> list[str]:
            async with desk.okno.db.read() as session:
                return list((await session.scalars(select(AttachmentRow.filename))).all())

        assert sorted(await eventually(lambda: _two(attachments))) == [
            "photo-12.jpg",
            "printer-log.pdf",
        ]
        assert ticket.subject == "Error on the display"


async def _two(read: object) -> list[str] | None:
    found = await read()  # type: ignore[operator]
    return found if len(found) == 2 else None


async def test_edit_changes_the_comment_and_keeps_the_old_text_in_history(
    settings: Settings, fake_api: FakeTelegramAPI
) -> None:
    async with running(telegram_settings(settings, fake_api.base_url), fake_api) as desk:
        await desk.send(fixture("01-private-text-message.json"))
        [ticket] = await eventually(desk.tickets)
        await desk.send(fixture("03-edited-message-private.json"))

        async def edited() -> bool:
            async with desk.okno.db.read() as session:
                body = await session.scalar(select(CommentRow.body))
            return bool(body and "room 312" in body)

        await eventually(edited)
        assert len(await desk.tickets()) == 1
        history = await desk.history(ticket.number)
        [edit] = [e for e in history if e.kind == "comment_edited"]
        assert edit.data["old"] == "Printer on floor 3 does not print"


async def test_sharing_ones_own_number_links_the_phone_and_someone_elses_does_not(
    settings: Settings, fake_api: FakeTelegramAPI
) -> None:
    own = {"phone_number": "79161234567", "first_name": "Ivan", "user_id": IVAN["id"]}
    other = {"phone_number": "79160000000", "first_name": "Olga", "user_id": 42}
    async with running(telegram_settings(settings, fake_api.base_url), fake_api) as desk:
        await desk.send(private_message(IVAN, "", contact=other))
        await desk.send(private_message(IVAN, "", contact=own))

        await eventually(lambda: any("+79161234567" in t for t in fake_api.texts(IVAN["id"])))
        async with desk.okno.db.read() as session:
            phones = (
                await session.scalars(select(IdentityRow.value).where(IdentityRow.kind == "phone"))
            ).all()
        assert phones == ["+79161234567"]


async def test_message_while_a_ticket_waits_continues_that_ticket(
    settings: Settings, fake_api: FakeTelegramAPI
) -> None:
    async with running(telegram_settings(settings, fake_api.base_url), fake_api) as desk:
        await desk.send(private_message(IVAN, "Не работает сканер"))
        [ticket] = await eventually(desk.tickets)
        await desk.wait_for(ticket.number)

        await desk.send(private_message(IVAN, "Модель Canon DR-C225, ошибка E01"))

        async def resumed() -> bool:
            return (await desk.ticket(ticket.number)).status is Status.IN_PROGRESS

        await eventually(resumed)
        assert len(await desk.tickets()) == 1


async def test_deep_link_from_an_email_links_the_telegram_account_to_that_contact(
    settings: Settings, fake_api: FakeTelegramAPI
) -> None:
    async with running(telegram_settings(settings, fake_api.base_url), fake_api) as desk:
        async with desk.okno.db.transaction() as session:
            contact = ContactRow(
                name="Иван Петров",
                locale="ru",
                timezone="Europe/Moscow",
                vip=False,
                created_at=desk.okno.now(),
            )
            session.add(contact)
            await session.flush()
            session.add(
                IdentityRow(
                    contact_id=contact.id,
                    kind="email",
                    value="ivan@example.ru",
                    verified=True,
                    unreachable=False,
                )
            )
            contact_id = contact.id
        payload = link_payload(desk.okno_signer(), contact_id)

        await desk.send(private_message(IVAN, f"/start l{contact_id}_AAAAAAAAAAA"))
        await desk.send(private_message(IVAN, f"/start {payload}"))
        await eventually(lambda: len(fake_api.texts(IVAN["id"])) >= 4)
        await desk.send(private_message(IVAN, "Не работает VPN"))

        [ticket] = await eventually(desk.tickets)
        assert ticket.requester.id == contact_id
        texts = fake_api.texts(IVAN["id"])
        assert texts[0] == "Ссылка недействительна. Запросите новую."
        assert texts[2] == "Готово: этот Telegram связан с вашей учётной записью."


async def test_english_speaker_is_acknowledged_and_helped_in_english(
    settings: Settings, fake_api: FakeTelegramAPI
) -> None:
    async with running(telegram_settings(settings, fake_api.base_url), fake_api) as desk:
        await desk.send(private_message(JOHN, "/help"))
        await desk.send(private_message(JOHN, "The projector in room 5 has no signal"))

        [ticket] = await eventually(desk.tickets)
        texts = await eventually(
            lambda: len(fake_api.texts(JOHN["id"])) == 2 and fake_api.texts(JOHN["id"])
        )
        assert texts[0].startswith("Describe the problem in one message")
        assert texts[1].startswith(f"Ticket #{ticket.number} received")
        assert "Priority: Medium" in texts[1]
        assert ticket.requester.locale == "en"


async def test_no_reopens_and_a_rating_comment_is_kept(
    settings: Settings, fake_api: FakeTelegramAPI
) -> None:
    async with running(telegram_settings(settings, fake_api.base_url), fake_api) as desk:
        await desk.send(private_message(IVAN, "Не работает VPN"))
        [ticket] = await eventually(desk.tickets)
        async with desk.okno.db.transaction() as session:
            await desk.okno.tickets.change_status(
                session, ticket.number, Status.RESOLVED, actor="anna", now=desk.okno.now()
            )
        asked = await eventually(
            lambda: [c for c in fake_api.sent(IVAN["id"]) if "Проблема решена?" in str(c.params)]
        )
        no = buttons_of(asked[0].params["reply_markup"])["↩️ Нет, возобновить"]
        await desk.send(callback(IVAN, no, IVAN["id"], 1))

        async def reopened() -> bool:
            return (await desk.ticket(ticket.number)).status is Status.REOPENED

        await eventually(reopened)
        async with desk.okno.db.transaction() as session:
            await desk.okno.tickets.change_status(
                session, ticket.number, Status.RESOLVED, actor="anna", now=desk.okno.now()
            )
        asked = await eventually(
            lambda: (
                len(
                    found := [
                        c for c in fake_api.sent(IVAN["id"]) if "Проблема решена?" in str(c.params)
                    ]
                )
                == 2
                and found
            )
        )
        await desk.send(
            callback(IVAN, buttons_of(asked[1].params["reply_markup"])["✅ Да"], IVAN["id"], 2)
        )
        rate = await eventually(
            lambda: [c for c in fake_api.sent(IVAN["id"]) if "1 (плохо)" in str(c.params)]
        )
        await desk.send(
            callback(IVAN, buttons_of(rate[0].params["reply_markup"])["4"], IVAN["id"], 3)
        )
        await eventually(lambda: any("комментарий" in t for t in fake_api.texts(IVAN["id"])))
        await desk.send(private_message(IVAN, "Быстро, но пришлось напоминать"))

        async def commented() -> bool:
            found = await desk.ticket(ticket.number)
            return found.rating_comment == "Быстро, но пришлось напоминать"

        await eventually(commented)
        found = await desk.ticket(ticket.number)
        assert (found.status, found.rating) == (Status.CLOSED, 4)
        assert len(await desk.tickets()) == 1  # the comment opened nothing


async def test_reply_to_the_acknowledgement_continues_that_ticket(
    settings: Settings, fake_api: FakeTelegramAPI
) -> None:
    async with running(telegram_settings(settings, fake_api.base_url), fake_api) as desk:
        await desk.send(private_message(IVAN, "Не работает VPN из дома"))
        [ticket] = await eventually(desk.tickets)
        [ack] = await eventually(lambda: fake_api.sent(IVAN["id"], "sendMessage"))
        replied = {
            "message_id": ack.result["message_id"],
            "date": 1,
            "chat": {"id": IVAN["id"], "type": "private"},
            "text": "Заявка принята",
        }

        await desk.send(
            private_message(IVAN, "Совсем другое: сломался стул", reply_to_message=replied)
        )

        async def appended() -> list[str]:
            async with desk.okno.db.read() as session:
                rows = (await session.scalars(select(CommentRow))).all()
            return [r.body for r in rows] if len(rows) == 2 else []

        assert (await eventually(appended))[1] == "Совсем другое: сломался стул"
        assert [t.number for t in await desk.tickets()] == [ticket.number]
