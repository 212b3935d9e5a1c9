"""Pure validation and normalisation, without HTTP."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from channels.base import InboundAttachment
from channels.phones import normalize_phone
from channels.webform.normalize import (
    FieldError,
    Limits,
    clean_line,
    clean_text,
    normalize_email,
    to_inbound,
    validate_submission,
)
from channels.webform.uploads import safe_content_type, safe_filename
from ticketing.domain import ChannelKind

SUBMISSION_ID = "0b6f3a52-5f6c-4c5e-9a43-3f8e0f2b1a77"


def values(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "submission_id": SUBMISSION_ID,
        "name": "Мария",
        "email": "maria@example.com",
        "subject": "Нет доступа к 1С",
        "description": "После смены пароля не пускает в 1С.",
    }
    base.update(overrides)
    return base


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Ivan.Petrov@Example.RU", "ivan.petrov@example.ru"),
        (" a+tag@mail.example.com ", "a+tag@mail.example.com"),
        ("user@пример.рф", "user@xn--e1afmkfd.xn--p1ai"),
        ("no-at-sign", None),
        ("two@@example.com", None),
        ("dots..in@example.com", None),
        ("user@localhost", None),
        ("user@-bad-.com", None),
        ("юзер@example.com", None),
        ("a" * 65 + "@example.com", None),
        ("user@exa mple.com", None),
    ],
)
def test_email_is_normalised_or_refused(raw: str, expected: str | None) -> None:
    assert normalize_email(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("8 (912) 345-67-89", "+79123456789"),
        ("+7 912 345 67 89", "+79123456789"),
        ("9123456789", "+79123456789"),
        ("+44 20 7946 0958", "+442079460958"),
        ("12345", None),
        ("звоните", None),
        ("+7" + "9" * 70, None),
        # Bare international digits, as a PBX writes them: the same person as on a call.
        ("380441234567", "+380441234567"),
    ],
)
def test_phone_is_e164_or_refused(raw: str, expected: str | None) -> None:
    assert normalize_phone(raw) == expected


def test_text_cleaning_drops_control_characters_and_keeps_lines() -> None:
    assert clean_line("  Иван\x00\n  Петров\t ") == "Иван Петров"
    assert clean_text("строка 1\r\nстрока 2\x00\x07\n") == "строка 1\nстрока 2"


def test_valid_values_become_a_submission() -> None:
    submission, errors = validate_submission(values(), service_ids=set(), limits=Limits())

    assert errors == {}
    assert submission is not None
    assert submission.submission_id == SUBMISSION_ID
    assert submission.service is None


def test_limits_come_from_the_caller() -> None:
    _, errors = validate_submission(
        values(name="Мария Ивановна"), service_ids=set(), limits=Limits(max_name_chars=5)
    )

    assert errors == {"name": FieldError("too_long", {"max": 5, "length": 14})}


def test_submission_becomes_an_inbound_message_answered_by_email() -> None:
    submission, _ = validate_submission(
        values(phone="+7 912 345-67-89", service="vpn"), service_ids={"vpn"}, limits=Limits()
    )
    assert submission is not None
    received = datetime(2025, 3, 1, tzinfo=UTC)
    file = InboundAttachment(filename="a.txt", content_type="text/plain", content=b"a")

    message = to_inbound(
        submission, attachments=[file], locale="en", client_ip="203.0.113.7", received_at=received
    )

    assert message.channel is ChannelKind.WEBFORM
    assert message.external_id == SUBMISSION_ID
    assert message.sender.phone == "+79123456789"
    assert message.reply_to is not None
    assert message.reply_to.channel is ChannelKind.EMAIL
    assert message.received_at == received
    assert message.attachments == (file,)
    assert message.service == "vpn"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("report.pdf", "report.pdf"),
        ("C:\\Users\\ivan\\отчёт.docx", "отчёт.docx"),
        ("../../etc/passwd", "passwd"),
        ("%D0%BE%D1%82%D1%87%D1%91%D1%82.txt", "отчёт.txt"),
        ("quote%22name.txt", "quotename.txt"),
        ("\x00\x1f", "file"),
        ("..", "file"),
        ("a" * 300 + ".txt", "a" * 251 + ".txt"),
    ],
)
def test_filenames_are_made_safe(raw: str, expected: str) -> None:
    assert safe_filename(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("image/PNG", "image/png"),
        ("text/plain; charset=utf-8", "text/plain"),
        ("text/html\r\nX-Injected: 1", "application/octet-stream"),
        (None, "application/octet-stream"),
    ],
)
def test_content_types_are_made_safe(raw: str | None, expected: str) -> None:
    assert safe_content_type(raw) == expected
