"""The pure helpers: charset detection, quote stripping, subjects, loop detection, rendering."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.policy import default
from pathlib import Path

import pytest

from channels.base import ChannelKind, OutboundMessage, ReplyAddress
from channels.email.charset import decode_text
from channels.email.flatten import flatten_email
from channels.email.loop import detect_auto_generated
from channels.email.normalize import normalize_email, parse_bytes
from channels.email.quoting import strip_quoted
from channels.email.render import (
    HeaderInjectionError,
    Identity,
    OutgoingFile,
    encoded_words,
    make_message_id,
    needs_smtputf8,
    render_email,
)
from channels.email.subject import is_forward, strip_subject, tag_subject, ticket_tag

CRISP = Path(__file__).resolve().parents[3] / "shared" / "data" / "email" / "crisp-replies"
CRISP_FIXTURES = CRISP / "test" / "fixtures"
RUSSIAN = "Не работает принтер в бухгалтерии, прошу срочно помочь с печатью отчётов"


LABELS = (None, "koi8-r", "windows-1251", "iso-8859-1", "utf-8")
CASES = [(codec, label) for codec in ("koi8-r", "cp1251", "utf-8", "cp866") for label in LABELS]


@pytest.mark.parametrize(("codec", "declared"), [*CASES, ("iso-8859-5", None)])
def test_russian_text_decodes_whatever_the_label_when_bytes_are(
    codec: str, declared: str | None
) -> None:
    assert decode_text(RUSSIAN.encode(codec), declared) == RUSSIAN


def test_western_text_keeps_its_declared_charset() -> None:
    text = "Grüße aus Köln, café déjà vu"
    assert decode_text(text.encode("latin-1"), "iso-8859-1") == text
    assert decode_text(text.encode("cp1252"), "utf-8") == text  # "UTF-8" that is not


def test_mostly_utf8_with_a_stray_byte_stays_utf8() -> None:
    data = RUSSIAN.encode() + b"\xff" + RUSSIAN.encode()
    assert decode_text(data).startswith(RUSSIAN)


@pytest.mark.parametrize(
    ("name", "kept", "gone"),
    [
        ("email_russian.txt", "Fusce bibendum", "John Doe"),
        ("email_german_outlook.txt", "Fusce bibendum", "Ursprüngliche"),
        ("email_outlook_split_line_from.txt", "Fusce bibendum", "Human Resources"),
        ("email_gmail_split_line_from.txt", "Fusce bibendum", "wrote:"),
        ("email_tricky_1_on_false_positive.txt", "On a separate note", None),
        ("email_tricky_4_from_in_body.txt", "This is the actual message content", None),
        ("email_tricky_13_timestamp_variations.txt", "not quote headers", None),
        ("email_tricky_18_inline_reply.txt", "Option C is not suitable", None),
        ("email_iphone.txt", "Here is another email", "Sent from my iPhone"),
        ("email_italian.txt", "Fusce bibendum", "ha scritto"),
        ("email_finnish.txt", "Fusce bibendum", "kirjoitti"),
    ],
)
def test_reply_parsing_on_the_crisp_fixtures(name: str, kept: str, gone: str | None) -> None:
    result = strip_quoted((CRISP_FIXTURES / name).read_text(encoding="utf-8"))
    assert kept in result
    if gone is not None:
        assert gone not in result


@pytest.mark.parametrize(
    "header",
    [
        "-----Исходное сообщение-----\nОт: A <a@b.ru>\nОтправлено: 1 мая\nКому: c@d.ru\nТема: x",
        "От: A <a@b.ru>\nОтправлено: 1 мая 2026 г. 10:00\nКому: c@d.ru\nТема: x",
        "Пользователь Иван написал(а):",
        "ср, 30 апр. 2025 г. в 15:19, John Doe <doe@example.com>:",
        "Четверг, 19 ноября 2026, 7:30 +03:00 от Service Desk <support@desk.example>:",
        '19.11.2026, 09:00, "Service Desk" <support@desk.example>:',
        "On Mon, 16 Nov 2026 at 10:00, Service Desk <support@desk.example> wrote:",
        "On 16 Nov 2026, at 10:00, Service Desk wrote:",
    ],
)
def test_russian_and_english_reply_headers_cut_the_history(header: str) -> None:
    text = f"Новый текст ответа.\n\n{header}\n\n> старое письмо\nстарое письмо"
    assert strip_quoted(text) == "Новый текст ответа."


def test_forwarded_mail_keeps_its_history() -> None:
    text = (
        "Посмотрите, пожалуйста.\n\n-----Исходное сообщение-----\nОт: A\nКому: B\nТема: x\n\nтекст"
    )
    assert "текст" in strip_quoted(text, forward=True)


def test_subject_prefixes_and_tags() -> None:
    assert strip_subject("RE: Fwd: Ответ: Пересл: [#12] Принтер") == "Принтер"
    assert strip_subject("Re[2]: AW: WG: Server down") == "Server down"
    assert ticket_tag("Re: [#4567] Заявка") == 4567
    assert ticket_tag("Заявка #4567") is None
    assert is_forward("Пересл: отчёт")
    assert is_forward("FW: report")
    assert not is_forward("Re: report")
    assert tag_subject("Заявка", 5) == "[#5] Заявка"
    assert tag_subject("[#5] Заявка", 5) == "[#5] Заявка"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ("Auto-Submitted: auto-replied", "auto-submitted"),
        ("Auto-Submitted: no", None),
        ("Precedence: bulk", "precedence"),
        ("Precedence: junk", "precedence"),
        ("X-Loop: helpdesk", "loop"),
        ("List-Id: <users.lists.example>", "list"),
        ("List-Unsubscribe: <mailto:u@lists.example>", "list"),
        ("X-Auto-Response-Suppress: OOF", "suppress"),
        ("X-Mailer: Outlook", None),
    ],
)
def test_loop_headers(headers: str, expected: str | None) -> None:
    raw = f"From: p@example.ru\r\n{headers}\r\nSubject: s\r\n\r\nbody\r\n".encode()
    message = parse_bytes(raw)
    assert detect_auto_generated(message, sender="p@example.ru", own_domain="desk.example") == (
        expected
    )


@pytest.mark.parametrize(
    "sender", ["mailer-daemon@x.ru", "MAILER-DAEMON@x.ru", "postmaster@x.ru", "noreply@x.ru"]
)
def test_system_senders_are_never_answered(sender: str) -> None:
    raw = f"From: {sender}\r\nSubject: hello\r\n\r\nbody\r\n".encode()
    assert normalize_email(raw).auto_generated == "system-sender"


def message(**changes: object) -> OutboundMessage:
    values: dict[str, object] = {
        "idempotency_key": "acknowledgement:7",
        "recipient": ReplyAddress(
            channel=ChannelKind.EMAIL, address="maria@example.ru", thread_hint="<m1@example.ru>"
        ),
        "text": "Заявка #7 принята.",
        "subject": "Заявка принята",
        "html": "<p>Заявка #7 принята.</p>",
        "ticket_number": 7,
    }
    values.update(changes)
    return OutboundMessage(**values)  # type: ignore[arg-type]


IDENTITY = Identity(
    address="support@desk.example", display_name="Поддержка", id_domain="desk.example"
)
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def rendered(**changes: object) -> EmailMessage:
    """The mail as a recipient's client reads it: rendered, flattened and parsed again."""
    raw = flatten_email(render_email(message(**changes), identity=IDENTITY, now=NOW))
    parsed = BytesParser(policy=default).parsebytes(raw)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_rendered_mail_threads_tags_and_marks_automatic_mail() -> None:
    mail = rendered()
    assert mail["Message-ID"] == make_message_id("acknowledgement:7", "desk.example")
    assert mail["In-Reply-To"] == "<m1@example.ru>"
    assert mail["References"] == "<m1@example.ru>"
    assert str(mail["Subject"]) == "[#7] Заявка принята"
    assert mail["Auto-Submitted"] == "auto-replied"
    assert mail["Reply-To"] == "support@desk.example"
    assert mail["From"].addresses[0].display_name == "Поддержка"
    assert mail["From"].addresses[0].addr_spec == "support@desk.example"
    assert mail.get_body(("plain",)) is not None
    assert mail.get_body(("html",)) is not None
    parsed = normalize_email(bytes(mail))
    assert parsed.text == "Заявка #7 принята."
    assert parsed.refs.ticket_number == 7


def test_a_person_s_reply_is_not_marked_automatic() -> None:
    mail = rendered(automatic=False)
    assert mail["Auto-Submitted"] is None
    assert mail["X-Auto-Response-Suppress"] is None


def test_rendered_mail_is_seven_bit_and_carries_files_with_international_names() -> None:
    files = [
        OutgoingFile(filename="инструкция.pdf", content_type="application/pdf", content=b"%PDF"),
        OutgoingFile(filename="log.txt", content_type="text/plain", content="ошибка".encode()),
    ]
    subject = "Очень длинная тема письма, которую почтовый клиент должен собрать обратно " * 2
    built = render_email(message(subject=subject.strip()), identity=IDENTITY, now=NOW, files=files)
    raw = flatten_email(built)
    assert raw.isascii()
    assert max(len(line) for line in raw.splitlines()) <= 998
    # RFC 2047: a line holding encoded words is at most 76 characters long.
    assert all(len(line) <= 76 for line in raw.splitlines() if b"=?utf-8?" in line)
    assert b"\r\n" in raw
    assert b"\n" not in raw.replace(b"\r\n", b"")
    mail = BytesParser(policy=default).parsebytes(raw)
    assert isinstance(mail, EmailMessage)
    assert str(mail["Subject"]) == f"[#7] {subject.strip()}"
    found = {p.get_filename(): p.get_payload(decode=True) for p in mail.iter_attachments()}
    assert found == {"инструкция.pdf": b"%PDF", "log.txt": "ошибка".encode()}
    body = mail.get_body(("plain",))
    assert body is not None
    assert body.get_content().strip() == "Заявка #7 принята."


def test_a_non_ascii_local_part_is_kept_for_smtputf8() -> None:
    recipient = ReplyAddress(channel=ChannelKind.EMAIL, address="jdöe@mächine.example")
    built = render_email(message(recipient=recipient), identity=IDENTITY, now=NOW)
    assert needs_smtputf8(built)
    mail = BytesParser(policy=default).parsebytes(flatten_email(built))
    assert mail["To"] == "jdöe@mächine.example"
    assert str(mail["Subject"]) == "[#7] Заявка принята"
    assert not needs_smtputf8(render_email(message(), identity=IDENTITY, now=NOW))


def test_an_international_recipient_domain_is_idna_encoded() -> None:
    recipient = ReplyAddress(channel=ChannelKind.EMAIL, address="info@почта.рф")
    assert rendered(recipient=recipient)["To"] == "info@xn--80a1acny.xn--p1ai"


@pytest.mark.parametrize(
    "changes",
    [
        {"subject": "hi\r\nBcc: victim@example.com"},
        {"subject": "hi\nX-Evil: 1"},
        {"recipient": ReplyAddress(channel=ChannelKind.EMAIL, address="a@b.ru\r\nBcc: c@d.ru")},
        {"recipient": ReplyAddress(channel=ChannelKind.EMAIL, address="a@b.ru, c@d.ru")},
        {
            "recipient": ReplyAddress(
                channel=ChannelKind.EMAIL, address="a@b.ru", thread_hint="<x>\r\nBcc: c@d.ru"
            )
        },
    ],
)
def test_header_injection_is_refused(changes: dict[str, object]) -> None:
    with pytest.raises(HeaderInjectionError):
        render_email(message(**changes), identity=IDENTITY, now=NOW)


def test_the_writer_refuses_a_header_that_spans_lines_whatever_built_it() -> None:
    mail = render_email(message(), identity=IDENTITY, now=NOW)
    mail["X-Note"] = "fine\r\nBcc: victim@example.com"
    with pytest.raises(HeaderInjectionError):
        flatten_email(mail)


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"html": None},
        {"subject": "Plain ASCII subject", "automatic": False},
        {"subject": "Очень длинная тема 🙂 с эмодзи и «кавычками» " * 4},
        {
            "recipient": ReplyAddress(
                channel=ChannelKind.EMAIL,
                address="maria@example.ru",
                thread_hint=" ".join(f"<m{n}.{'x' * 30}@example.ru>" for n in range(8)),
            )
        },
    ],
)
def test_the_sent_bytes_read_as_the_standard_generator_s_would(
    changes: dict[str, object],
) -> None:
    files = [OutgoingFile(filename="отчёт.txt", content_type="text/plain", content=b"x" * 500)]
    built = render_email(message(**changes), identity=IDENTITY, now=NOW, files=files)
    ours = _parsed(flatten_email(built))
    theirs = _parsed(built.as_bytes())
    assert [(k, str(v)) for k, v in ours.items()] == [(k, str(v)) for k, v in theirs.items()]
    assert _leaves(ours) == _leaves(theirs)


def _parsed(raw: bytes) -> EmailMessage:
    mail = BytesParser(policy=default).parsebytes(raw)
    assert isinstance(mail, EmailMessage)
    assert not mail.defects
    return mail


def _leaves(mail: Message) -> list[tuple[str, str | None, object]]:
    return [
        (part.get_content_type(), part.get_filename(), part.get_payload(decode=True))
        for part in mail.walk()
        if not part.is_multipart()
    ]


@pytest.mark.parametrize(
    "text",
    ["", "a", "Заявка", "🙂" * 40, "ё" * 23 + "x" + "ё" * 60, "mixed ASCII и кириллица " * 9],
)
def test_encoded_words_decode_to_the_text_and_stay_short(text: str) -> None:
    words = encoded_words(text)
    assert all(len(word) <= 75 for word in words.split(" "))
    parsed = BytesParser(policy=default).parsebytes(f"Subject: {words}\r\n\r\n".encode())
    assert str(parsed["Subject"]) == text
