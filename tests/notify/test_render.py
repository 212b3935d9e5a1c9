"""Rendering every event in Russian and English, and fitting it to each channel."""

from __future__ import annotations

from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import pytest

from channels.base import Capability
from notify.render import TELEGRAM_TAGS, Rendered, Renderer, to_outbound
from notify.settings import EVENTS
from ticketing.domain import ChannelKind, OutboxEntry, OutboxItem, ReplyAddress

NNBSP = "\u202f"  # CLDR puts a narrow no-break space before "г." and "PM"
SCRIPT = "<script>alert(1)</script>"
STATUS_URL = "https://desk.example/t/abc"
RATING_URL = "https://desk.example/t/abc/rate"

PAYLOADS: dict[str, dict[str, Any]] = {
    "acknowledgement": {
        "ticket_number": 4567,
        "subject": f"Принтер {SCRIPT}",
        "priority": "high",
        "requester_name": "Иван",
        "expected_resolution_at": "2026-11-23T11:30:00Z",
        "status_url": STATUS_URL,
    },
    "appended": {
        "ticket_number": 4567,
        "subject": f"Принтер {SCRIPT}",
        "reason": "duplicate",
        "status_url": STATUS_URL,
    },
    "public_reply": {
        "ticket_number": 4567,
        "subject": f"Принтер {SCRIPT}",
        "author_name": "Анна Петрова",
        "text": f"Перезагрузите, пожалуйста, принтер.\n\nЕсли не поможет — напишите. {SCRIPT}",
        "status_url": STATUS_URL,
    },
    "status_changed": {
        "ticket_number": 4567,
        "subject": f"Принтер {SCRIPT}",
        "old_status": "in_progress",
        "new_status": "resolved",
        "status_url": STATUS_URL,
    },
    "waiting_for_you": {
        "ticket_number": 4567,
        "subject": f"Принтер {SCRIPT}",
        "question": f"Какая модель принтера? {SCRIPT}",
        "status_url": STATUS_URL,
    },
    "resolved": {
        "ticket_number": 4567,
        "subject": f"Принтер {SCRIPT}",
        "resolution": f"Заменили картридж. {SCRIPT}",
        "status_url": STATUS_URL,
        "rating_url": RATING_URL,
    },
    "still_waiting": {
        "ticket_number": 4567,
        "subject": f"Принтер {SCRIPT}",
        "status_url": STATUS_URL,
        "automatic_at": "2026-11-27T15:00:00Z",
    },
    "rating_request": {
        "ticket_number": 4567,
        "subject": f"Принтер {SCRIPT}",
        "status_url": STATUS_URL,
        "rating_url": RATING_URL,
        "automatic_at": "2026-11-27T15:00:00Z",
    },
    "sla_warning": {
        "ticket_number": 4567,
        "subject": f"Принтер {SCRIPT}",
        "status_url": STATUS_URL,
        "priority": "high",
        "clock": "resolution",
        "percent": 75,
        "level": "warning",
        "due_at": "2026-11-23T11:30:00Z",
        "assignee": "anna",
    },
    "sla_breach": {
        "ticket_number": 4567,
        "subject": f"Принтер {SCRIPT}",
        "status_url": STATUS_URL,
        "priority": "high",
        "clock": "reaction",
        "percent": 100,
        "level": "breach",
        "due_at": "2026-11-23T11:30:00Z",
        "assignee": None,
    },
    "callback_unreachable": {
        "ticket_number": 4567,
        "subject": f"Пропущенный звонок {SCRIPT}",
        "status_url": STATUS_URL,
        "attempts": 3,
        "phone": "+79121234567",
    },
}

# What a requester must read, per event and locale, in the subject and in the body.
EXPECTED: dict[tuple[str, str], tuple[str, str]] = {
    ("acknowledgement", "ru"): (
        "Заявка принята",
        f"Ваша заявка #4567 принята, ожидаемое время решения — 23 ноября 2026{NNBSP}г., 14:30.",
    ),
    ("acknowledgement", "en"): (
        "Ticket received",
        "Your ticket #4567 has been received, expected resolution time: "
        f"November 23, 2026, 2:30{NNBSP}PM.",
    ),
    ("appended", "ru"): ("Сообщение добавлено в заявку", "уже есть открытая заявка #4567"),
    ("appended", "en"): ("Your message was added", "You already have an open ticket #4567"),
    ("public_reply", "ru"): ("Новый ответ", "Анна Петрова пишет:"),
    ("public_reply", "en"): ("New reply", "Анна Петрова wrote:"),
    ("status_changed", "ru"): ("статус: Решена", "изменён: «В работе» → «Решена»"),
    ("status_changed", "en"): ("status: Resolved", "from “In progress” to “Resolved”"),
    ("waiting_for_you", "ru"): ("Нужен ваш ответ", "Наш вопрос:"),
    ("waiting_for_you", "en"): ("Your reply is needed", "Our question:"),
    ("resolved", "ru"): ("Заявка решена", "Пожалуйста, оцените нашу работу"),
    ("resolved", "en"): ("Ticket resolved", "Please rate our work"),
    ("still_waiting", "ru"): ("Мы всё ещё ждём вашего ответа", "будет считаться решённой"),
    ("still_waiting", "en"): ("still waiting for your reply", "will be considered resolved"),
    ("rating_request", "ru"): ("Как мы справились?", "Пожалуйста, оцените нашу работу"),
    ("rating_request", "en"): ("How did we do?", "Please rate our work"),
    ("sla_warning", "ru"): ("Предупреждение SLA", "израсходовала 75 % времени решения"),
    ("sla_warning", "en"): ("SLA warning", "has used 75 percent of its resolution time"),
    ("sla_breach", "ru"): ("Нарушение SLA", "нарушила срок реакции"),
    ("sla_breach", "en"): ("SLA breach", "has missed its reaction time"),
    ("callback_unreachable", "ru"): (
        "Не удалось дозвониться",
        "Мы звонили на номер +79121234567 3 раза, но никто не ответил.",
    ),
    ("callback_unreachable", "en"): (
        "could not reach you by phone",
        "We called +79121234567 3 times and nobody answered.",
    ),
}


class TagCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)


def tags_of(html: str) -> set[str]:
    parser = TagCollector()
    parser.feed(html)
    return parser.tags


def render(renderer: Renderer, event: str, locale: str, **changes: Any) -> Rendered:
    payload = PAYLOADS[event] | changes
    return renderer.render(event, locale=locale, timezone="Europe/Moscow", payload=payload)


def test_every_event_has_expectations_when_events_are_listed() -> None:
    assert set(PAYLOADS) == set(EVENTS)
    assert {event for event, _ in EXPECTED} == set(EVENTS)


@pytest.mark.parametrize(("event", "locale"), sorted(EXPECTED))
def test_subject_carries_the_number_tag_when_rendered(
    renderer: Renderer, event: str, locale: str
) -> None:
    subject_words, _ = EXPECTED[event, locale]

    rendered = render(renderer, event, locale)

    assert rendered.subject.startswith("[#4567] ")
    assert subject_words in rendered.subject
    assert "\n" not in rendered.subject


@pytest.mark.parametrize(("event", "locale"), sorted(EXPECTED))
def test_text_reads_in_the_locale_unescaped_when_rendered(
    renderer: Renderer, event: str, locale: str
) -> None:
    _, body_words = EXPECTED[event, locale]

    text = render(renderer, event, locale).text

    assert body_words in text
    assert "#4567" in text
    assert SCRIPT in text  # plain text is not HTML: nothing to escape
    assert "&lt;" not in text
    sign_off = (
        "С уважением,\nСлужба поддержки" if locale == "ru" else "Kind regards,\nService Desk"
    )
    assert text.endswith(sign_off)


@pytest.mark.parametrize(("event", "locale"), sorted(EXPECTED))
def test_html_escapes_payload_when_rendered(renderer: Renderer, event: str, locale: str) -> None:
    _, body_words = EXPECTED[event, locale]

    html = render(renderer, event, locale).html

    assert html is not None
    assert html.startswith("<!DOCTYPE html>")
    assert f'<html lang="{locale}">' in html
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert tags_of(html) >= {"p", "a"}
    assert body_words in html


@pytest.mark.parametrize(("event", "locale"), sorted(EXPECTED))
def test_telegram_uses_only_its_html_subset_when_rendered(
    renderer: Renderer, event: str, locale: str
) -> None:
    telegram = render(renderer, event, locale).telegram_html

    assert tags_of(telegram) <= TELEGRAM_TAGS
    assert "<b>" in telegram
    assert "<script>" not in telegram
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in telegram
    assert "4567" in telegram


@pytest.mark.parametrize(
    ("timezone", "locale", "expected"),
    [
        ("Europe/Moscow", "ru", f"23 ноября 2026{NNBSP}г., 14:30"),
        ("Asia/Vladivostok", "ru", f"23 ноября 2026{NNBSP}г., 21:30"),
        ("America/New_York", "en", f"November 23, 2026, 6:30{NNBSP}AM"),
        ("Pacific/Honolulu", "en", f"November 23, 2026, 1:30{NNBSP}AM"),
    ],
)
def test_due_date_is_shown_in_the_recipients_zone_when_rendered(
    renderer: Renderer, timezone: str, locale: str, expected: str
) -> None:
    rendered = renderer.render(
        "acknowledgement", locale=locale, timezone=timezone, payload=PAYLOADS["acknowledgement"]
    )

    assert expected in rendered.text
    assert expected in rendered.telegram_html


@pytest.mark.parametrize(
    ("now", "locale", "expected"),
    [
        (
            datetime(2026, 11, 23, 6, 0, tzinfo=UTC),
            "ru",
            "ожидаемое время решения — сегодня в 14:30.",
        ),
        (
            datetime(2026, 11, 22, 20, 0, tzinfo=UTC),
            "ru",
            "ожидаемое время решения — завтра в 14:30.",
        ),
        (
            datetime(2026, 11, 23, 6, 0, tzinfo=UTC),
            "en",
            f"resolution time: today at 2:30{NNBSP}PM.",
        ),
        (datetime(2026, 11, 20, 6, 0, tzinfo=UTC), "en", "resolution time: November 23, 2026,"),
    ],
)
def test_due_date_reads_today_or_tomorrow_when_it_is_near(
    renderer: Renderer, now: datetime, locale: str, expected: str
) -> None:
    rendered = renderer.render(
        "acknowledgement",
        locale=locale,
        timezone="Europe/Moscow",
        payload=PAYLOADS["acknowledgement"],
        now=now,
    )

    assert expected in rendered.text


def test_acknowledgement_names_priority_and_greets_by_name_when_known(
    renderer: Renderer,
) -> None:
    ru = render(renderer, "acknowledgement", "ru", priority="critical")
    en = render(renderer, "acknowledgement", "en", priority="low")

    assert ru.text.startswith("Здравствуйте, Иван!")
    assert "Приоритет: Критический" in ru.text
    assert "Priority: Low" in en.text


def test_acknowledgement_omits_the_due_date_when_there_is_none(renderer: Renderer) -> None:
    rendered = render(
        renderer, "acknowledgement", "ru", expected_resolution_at=None, requester_name=None
    )

    assert rendered.text.startswith("Здравствуйте!")
    assert "Ваша заявка #4567 принята." in rendered.text
    assert "Ожидаемое время решения" not in rendered.telegram_html


@pytest.mark.parametrize(
    ("status", "ru", "en"),
    [
        ("new", "Новая", "New"),
        ("in_progress", "В работе", "In progress"),
        ("waiting", "Ожидает вашего ответа", "Waiting for your reply"),
        ("resolved", "Решена", "Resolved"),
        ("reopened", "Открыта повторно", "Reopened"),
        ("closed", "Закрыта", "Closed"),
    ],
)
def test_status_names_are_translated_when_status_changes(
    renderer: Renderer, status: str, ru: str, en: str
) -> None:
    in_ru = render(renderer, "status_changed", "ru", new_status=status)
    in_en = render(renderer, "status_changed", "en", new_status=status)

    assert f"Новый статус: {ru}" in in_ru.telegram_html
    assert f"New status: {en}" in in_en.telegram_html


def test_optional_texts_are_left_out_when_null(renderer: Renderer) -> None:
    waiting = render(renderer, "waiting_for_you", "ru", question=None)
    resolved = render(renderer, "resolved", "en", resolution=None, rating_url=None)

    assert "Наш вопрос" not in waiting.text
    assert "Solution:" not in resolved.text
    assert "rate our work" not in resolved.text
    assert [button.data for button in resolved.buttons] == [STATUS_URL]


def test_appended_says_so_plainly_when_not_a_duplicate(renderer: Renderer) -> None:
    rendered = render(renderer, "appended", "ru", reason="thread")

    assert "Ваше сообщение добавлено в заявку #4567" in rendered.text


def test_reply_text_keeps_its_paragraphs_when_rendered_as_html(renderer: Renderer) -> None:
    html = render(renderer, "public_reply", "ru").html

    assert html is not None
    assert "<p>Перезагрузите, пожалуйста, принтер.</p>\n<p>Если не поможет" in html


def test_buttons_carry_the_links_in_the_locale_when_payload_has_them(
    renderer: Renderer,
) -> None:
    ru = render(renderer, "resolved", "ru")
    en = render(renderer, "resolved", "en")

    assert [(b.label, b.data) for b in ru.buttons] == [
        ("Открыть заявку", STATUS_URL),
        ("Оценить решение", RATING_URL),
    ]
    assert [b.label for b in en.buttons] == ["View the ticket", "Rate the solution"]


@pytest.mark.parametrize(("locale", "greeting"), [("en-US", "Hello!"), ("de", "Здравствуйте!")])
def test_locale_falls_back_to_the_default_when_unsupported(
    renderer: Renderer, locale: str, greeting: str
) -> None:
    assert render(renderer, "resolved", locale).text.startswith(greeting)


def test_timezone_falls_back_to_the_default_when_unknown(renderer: Renderer) -> None:
    rendered = renderer.render(
        "acknowledgement",
        locale="ru",
        timezone="Mars/Olympus",
        payload=PAYLOADS["acknowledgement"],
    )

    assert "14:30" in rendered.text  # the renderer's default zone, Europe/Moscow


def item_for(channel: ChannelKind, event: str = "resolved") -> OutboxItem:
    entry = OutboxEntry(
        idempotency_key="status:42",
        ticket_id=7,
        recipient=ReplyAddress(channel=channel, address="x", thread_hint="<m1@desk.example>"),
        template=event,
        locale="ru",
        timezone="Europe/Moscow",
        payload=PAYLOADS[event],
    )
    return OutboxItem(id=3, entry=entry, attempts=1)


def test_email_gets_subject_html_and_numbered_links_when_it_has_no_buttons(
    renderer: Renderer,
) -> None:
    rendered = render(renderer, "resolved", "ru")
    caps = Capability.HTML | Capability.SUBJECT | Capability.ATTACHMENTS | Capability.THREADING

    message = to_outbound(item_for(ChannelKind.EMAIL), rendered, caps)

    assert message.subject == rendered.subject
    assert message.html == rendered.html
    assert message.buttons == ()
    assert message.text.endswith(
        f"\n\n1. Открыть заявку: {STATUS_URL}\n2. Оценить решение: {RATING_URL}"
    )
    assert message.recipient.thread_hint == "<m1@desk.example>"
    assert (message.idempotency_key, message.ticket_number) == ("status:42", 4567)
    assert message.automatic


def test_telegram_gets_its_html_and_buttons_when_it_has_both(renderer: Renderer) -> None:
    rendered = render(renderer, "resolved", "ru")

    message = to_outbound(
        item_for(ChannelKind.TELEGRAM),
        rendered,
        Capability.PUSH | Capability.HTML | Capability.BUTTONS,
    )

    assert message.html == rendered.telegram_html
    assert message.buttons == rendered.buttons
    assert message.subject == ""
    assert STATUS_URL not in message.text


def test_telegram_links_become_numbered_anchors_when_buttons_are_missing(
    renderer: Renderer,
) -> None:
    rendered = render(renderer, "resolved", "ru")

    message = to_outbound(
        item_for(ChannelKind.TELEGRAM), rendered, Capability.PUSH | Capability.HTML
    )

    assert message.html is not None
    assert message.html.endswith(
        f'1. <a href="{STATUS_URL}">Открыть заявку</a>\n'
        f'2. <a href="{RATING_URL}">Оценить решение</a>'
    )
    assert tags_of(message.html) <= TELEGRAM_TAGS


def test_plain_channel_gets_text_only_when_it_has_no_capabilities(renderer: Renderer) -> None:
    rendered = render(renderer, "acknowledgement", "ru")

    message = to_outbound(
        item_for(ChannelKind.PHONE, "acknowledgement"), rendered, Capability.NONE
    )

    assert (message.html, message.subject, message.buttons) == (None, "", ())
    assert message.text == rendered.text + f"\n\n1. Открыть заявку: {STATUS_URL}"


@pytest.mark.parametrize("event", sorted(EVENTS))
def test_only_the_html_a_channel_carries_is_rendered_when_the_channel_is_named(
    renderer: Renderer, event: str
) -> None:
    payload = PAYLOADS[event]
    full = renderer.render(event, locale="ru", timezone="Europe/Moscow", payload=payload)
    by_mail = renderer.render(
        event, locale="ru", timezone="Europe/Moscow", payload=payload, channel=ChannelKind.EMAIL
    )
    by_telegram = renderer.render(
        event,
        locale="ru",
        timezone="Europe/Moscow",
        payload=payload,
        channel=ChannelKind.TELEGRAM,
    )
    assert (by_mail.subject, by_mail.text, by_mail.html) == (full.subject, full.text, full.html)
    assert by_mail.telegram_html == ""
    assert (by_telegram.subject, by_telegram.text) == (full.subject, full.text)
    assert (by_telegram.telegram_html, by_telegram.html) == (full.telegram_html, None)
