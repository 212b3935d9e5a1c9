"""Pure parts of the bot: texts, callback data, status questions, cards, lines, commands."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from bot import desk_texts, texts
from bot.agent_commands import Command, parse_command
from bot.callbacks import CallbackSigner
from bot.cards import Reachability, card_buttons, card_html, topic_name
from bot.desk_view import reachability
from bot.lines import line_for
from bot.status import is_status_question
from ticketing.domain import (
    ChannelKind,
    Contact,
    IdentityKind,
    Priority,
    ReplyAddress,
    Status,
    Ticket,
    TicketType,
)

NOW = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)


def ticket(**changes: object) -> Ticket:
    values: dict[str, object] = {
        "id": 4567,
        "number": 4567,
        "subject": "Не печатает <принтер> & сканер",
        "type": TicketType.INCIDENT,
        "priority": Priority.HIGH,
        "status": Status.NEW,
        "requester": Contact(id=1, name="Иван", locale="ru", timezone="Europe/Moscow"),
        "origin_channel": ChannelKind.TELEGRAM,
        "reply_to": ReplyAddress(channel=ChannelKind.TELEGRAM, address="100"),
        "created_at": NOW,
        "updated_at": NOW,
    }
    return Ticket(**(values | changes))  # type: ignore[arg-type]


def test_both_languages_have_the_same_texts() -> None:
    assert set(texts.RU) == set(texts.EN)
    assert set(desk_texts.RU) == set(desk_texts.EN)
    assert set(desk_texts.LABELS["ru"]) == set(desk_texts.LABELS["en"])


def test_texts_escape_what_is_put_in_them() -> None:
    html = texts.t("ru", "detail.title", number=5, subject="<b>Ура</b> & co")

    assert html == "<b>Заявка #5</b> · &lt;b&gt;Ура&lt;/b&gt; &amp; co"


def test_unsupported_locale_falls_back_to_russian() -> None:
    assert texts.t("de", "cancel.done") == "Отменено."
    assert texts.locale_or("en", "ru") == "en"
    assert texts.locale_or(None, "en") == "en"


def test_callback_data_verifies_only_for_its_own_scope() -> None:
    signer = CallbackSigner(b"secret")
    data = signer.pack(100, "r", 4567, "5")

    assert len(data.encode()) < 64
    assert signer.unpack(100, data) is not None
    assert signer.unpack(101, data) is None
    assert signer.unpack(100, data.replace(":5:", ":1:")) is None
    assert CallbackSigner(b"other").unpack(100, data) is None
    assert signer.unpack(100, "rate:T-000123:5") is None
    assert signer.unpack(100, None) is None


def test_callback_data_refuses_separators_in_fields() -> None:
    with pytest.raises(ValueError, match="':'"):
        CallbackSigner(b"s").pack(1, "a:b", 1)


@pytest.mark.parametrize(
    "text",
    [
        "что с моей заявкой?",
        "Что с заявкой",
        "статус",
        "Статус заявки",
        "мои заявки",
        "где моя заявка?",
        "where is my ticket?",
        "Status",
        "any update on my request",
        "my tickets",
    ],
)
def test_status_questions_are_recognised(text: str) -> None:
    assert is_status_question(text)


@pytest.mark.parametrize(
    "text",
    [
        "Не работает принтер, статус на экране: ошибка E02, помогите пожалуйста срочно",
        "статус в 1С не меняется у документа",
        "Printer status light is red",
        "",
        None,
    ],
)
def test_problem_reports_are_not_status_questions(text: str | None) -> None:
    assert not is_status_question(text)


def test_topic_name_is_number_and_subject_cut_to_128() -> None:
    assert topic_name(ticket()) == "#4567 · Не печатает <принтер> & сканер"
    long = topic_name(ticket(subject="x" * 300))
    assert len(long) == 128
    assert long.endswith("…")


def test_card_escapes_the_subject_and_says_when_only_a_call_reaches_the_requester() -> None:
    html = card_html(
        ticket(),
        "ru",
        first_message="Принтер <HP> не печатает",
        reach=Reachability(phone="+79161234567", phone_only=True),
    )

    assert "&lt;принтер&gt; &amp; сканер" in html
    assert "Приоритет: высокий" in html
    assert "📞 Связь только по телефону: +79161234567" in html
    assert "<blockquote>Принтер &lt;HP&gt; не печатает</blockquote>" in html


def test_closed_ticket_card_has_no_buttons() -> None:
    signer = CallbackSigner(b"s")

    assert len(card_buttons(signer, ticket(), "ru")) == 2
    assert card_buttons(signer, ticket(status=Status.CLOSED), "ru") == []
    assert card_buttons(signer, ticket(status=Status.CLOSED), "ru", call_back=True) == []


def test_card_asks_for_a_call_back_until_someone_reaches_the_requester() -> None:
    signer = CallbackSigner(b"s")
    [*_, calls] = card_buttons(signer, ticket(), "ru", call_back=True)
    waiting = Reachability(phone="+79161234567", phone_only=True, callback_pending=True)

    assert [b.label for b in calls] == ["📞 Перезвонил", "Не дозвонился"]
    assert "📞 Ждёт звонка" in card_html(ticket(), "ru", first_message="", reach=waiting)
    tried = dataclasses.replace(waiting, unanswered=2)
    assert "Ждёт звонка · без ответа: 2" in card_html(
        ticket(), "ru", first_message="", reach=tried
    )
    reached = dataclasses.replace(waiting, callback_pending=False)
    assert "Ждёт звонка" not in card_html(ticket(), "ru", first_message="", reach=reached)


def test_phone_only_when_no_written_channel_reaches_the_requester() -> None:
    phone = (IdentityKind.PHONE.value, "+79161234567", False)
    blocked = (IdentityKind.TELEGRAM.value, "100", True)
    email = (IdentityKind.EMAIL.value, "ivan@example.ru", False)

    assert reachability(ticket(), [phone]).phone_only is False
    assert reachability(ticket(), [phone, blocked]).phone_only is True
    assert reachability(ticket(), [phone, blocked, email]).phone_only is False
    assert reachability(ticket(reply_to=None), [phone]) == Reachability(
        phone="+79161234567", phone_only=True
    )


def test_lines_skip_what_the_agent_just_did_in_the_group() -> None:
    assert line_for("public_reply", {"echo": False, "text": "x"}, "ru", "Иван") is None
    said = line_for("requester_message", {"text": "<b>ещё</b>"}, "ru", "Иван")
    assert said == "💬 <b>Иван</b>:\n&lt;b&gt;ещё&lt;/b&gt;"
    status = line_for(
        "resolved",
        {
            "old_status": "in_progress",
            "new_status": "resolved",
            "comment": "Готово",
            "actor": "Anna",
            "echo": False,
        },
        "ru",
        "Иван",
    )
    assert status == "🔄 Anna: в работе → решена\nГотово"
    assert line_for("something_new", {}, "ru", "Иван") is None


def test_commands_parse_with_the_bot_name_and_notes() -> None:
    assert parse_command("/prio high", "okno_bot") == Command("prio", "high")
    assert parse_command("/take@okno_bot", "okno_bot") == Command("take", "")
    assert parse_command("/take@other_bot", "okno_bot") is None
    assert parse_command("// позвонить вечером", "okno_bot") == Command(
        "note", "позвонить вечером"
    )
    assert parse_command("просто текст", "okno_bot") is None
