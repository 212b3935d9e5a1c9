"""normalize_email on raw mail: the whole shared corpus, and golden files for a chosen set."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from channels.email.normalize import Limits, UnprocessableMailError, normalize_email

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "email"
GOLDEN = FIXTURES / "golden"
CORPUS = ROOT.parent / "shared" / "data" / "email"
# Mail in the corpus that names no sender address anywhere (attachments saved as mail, RFC
# examples with only a Sender group, an Outlook .msg that is not MIME): quarantined by design.
NO_SENDER = {
    "flanker/tests/fixtures/messages/attached-pdf.eml",
    "flanker/tests/fixtures/messages/bounce/delayed-broken.eml",
    "php-mime-mail-parser/tests/mails/issue116.eml",
    "php-mime-mail-parser/tests/mails/issue212.eml",
    "php-mime-mail-parser/tests/mails/issue250.eml",
    "php-mime-mail-parser/tests/mails/m0027.eml",
    "ruby-mail/spec/fixtures/emails/error_emails/bad_encoded_subject.eml",
    "ruby-mail/spec/fixtures/emails/plain_emails/raw_email_incorrect_header.eml",
    "ruby-mail/spec/fixtures/emails/rfc2822/example13.eml",
    "spamscope-mailparser/tests/mails/mail_outlook_1.msg",
}


def corpus_messages() -> list[str]:
    """Every raw message of the shared corpus (reply-body text files and address lists aside)."""
    if not CORPUS.is_dir():
        return []
    found = []
    for path in sorted(CORPUS.rglob("*")):
        relative = path.relative_to(CORPUS).as_posix()
        if not path.is_file() or path.suffix not in {".eml", ".txt", ".msg"}:
            continue
        if path.name == "SOURCE.txt" or relative.startswith("crisp-replies/"):
            continue  # crisp: bare reply bodies, tested in test_quoting
        if relative.startswith("flanker/tests/fixtures/") and path.parent.name == "fixtures":
            continue  # address and URL lists
        if path.parent.name == "files":
            continue  # zbateson: attachment payloads, not mail
        found.append(relative)
    return found


def test_the_shared_corpus_is_present() -> None:
    assert len(corpus_messages()) > 250, f"expected the e-mail corpus at {CORPUS}"


@pytest.mark.parametrize("relative", corpus_messages())
def test_every_corpus_message_parses_with_sane_fields(relative: str) -> None:
    raw = (CORPUS / relative).read_bytes()
    if relative in NO_SENDER:
        with pytest.raises(UnprocessableMailError):
            normalize_email(raw)
        return
    message = normalize_email(raw)
    assert message.sender.email is not None
    local, _, domain = message.sender.email.rpartition("@")
    assert local
    assert domain
    for text in (message.subject, message.sender.name, message.external_id):
        assert "\n" not in text
        assert "\r" not in text
    for text in (message.subject, message.text, message.sender.name):
        assert "\x00" not in text
        assert not any("\udc80" <= c <= "\udcff" for c in text), "undecoded bytes left"
    assert message.external_id.startswith(("<", "sha256:"))
    assert len(message.external_id) <= 255
    json.dumps(message.to_payload())  # the inbox stores it as JSON


def summary(name: str) -> dict[str, Any]:
    message = normalize_email(
        (FIXTURES / name).read_bytes(),
        limits=Limits(own_domain="desk.example", own_address="support@desk.example"),
    )
    return {
        "external_id": message.external_id,
        "sender": {
            "name": message.sender.name,
            "email": message.sender.email,
            "locale": message.sender.locale,
        },
        "subject": message.subject,
        "text": message.text,
        "html": None if message.html is None else len(message.html) > 0,
        "reply_to": None if message.reply_to is None else message.reply_to.address,
        "refs": {
            "ticket_number": message.refs.ticket_number,
            "message_ids": list(message.refs.message_ids),
        },
        "attachments": [
            {"filename": a.filename, "content_type": a.content_type, "size": len(a.content)}
            for a in message.attachments
        ],
        "auto_generated": message.auto_generated,
        "bounced": message.meta.get("bounced"),
    }


GOLDEN_NAMES = sorted(p.name for p in FIXTURES.glob("*.eml"))


@pytest.mark.parametrize("name", GOLDEN_NAMES)
def test_golden_output_when_parsing_fixture(name: str) -> None:
    target = GOLDEN / f"{Path(name).stem}.json"
    got = summary(name)
    if os.environ.get("OKNO_REGEN_GOLDEN"):
        target.write_text(json.dumps(got, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    assert got == json.loads(target.read_text(encoding="utf-8"))


def test_koi8r_body_without_charset_reads_as_russian() -> None:
    got = summary("okno-koi8r-undeclared.eml")
    assert got["subject"] == "Не печатает принтер"
    assert got["sender"]["name"] == "Иван Петров"
    assert "Не печатает принтер HP в бухгалтерии" in got["text"]
    assert "Иван Петров" not in got["text"], "the signature after '-- ' is stripped"


def test_windows_1251_labelled_koi8r_is_detected() -> None:
    assert "нет лицензии" in summary("okno-cp1251-labelled-koi8r.eml")["text"]


def test_outlook_russian_reply_keeps_only_the_new_text_and_the_tag() -> None:
    got = summary("okno-outlook-ru-reply.eml")
    assert got["text"].startswith("Спасибо, проблема осталась")
    assert "Исходное сообщение" not in got["text"]
    assert got["refs"]["ticket_number"] == 4567
    assert got["refs"]["message_ids"][0] == "<0a1b2c3d.okno@desk.example>"
    assert got["subject"] == "Заявка принята"


def test_html_only_mail_becomes_clean_text_and_sanitised_html() -> None:
    raw = (FIXTURES / "okno-mailru-html-only.eml").read_bytes()
    message = normalize_email(raw)
    assert message.text == "Почта так и не работает, Outlook пишет «нет соединения с сервером»."
    assert message.html is not None
    assert "<img" not in message.html
    gmail = normalize_email((FIXTURES / "okno-gmail-ru-reply.eml").read_bytes())
    assert gmail.html is not None
    assert "script" not in gmail.html


def test_out_of_office_is_auto_generated_and_a_bounce_names_the_failed_address() -> None:
    assert summary("okno-out-of-office.eml")["auto_generated"] == "auto-submitted"
    bounce = summary("flanker-bounce-gmail-invalid-address.eml")
    assert bounce["auto_generated"] == "bounce"
    dsn = summary("ruby-dsn-multi-address-bounce.eml")
    assert dsn["auto_generated"] == "bounce"
    assert dsn["bounced"]


def test_our_own_message_id_domain_is_ours() -> None:
    raw = b"From: a@b.example\r\nMessage-ID: <x.okno@desk.example>\r\nSubject: s\r\n\r\nbody\r\n"
    message = normalize_email(raw, limits=Limits(own_domain="desk.example"))
    assert message.auto_generated == "own"


def test_mail_without_message_id_gets_a_stable_digest() -> None:
    raw = b"From: a@b.example\r\nSubject: s\r\n\r\nbody\r\n"
    first, second = normalize_email(raw), normalize_email(raw)
    assert first.external_id == second.external_id
    assert first.external_id.startswith("sha256:")


def test_oversized_attachments_are_skipped_and_noted() -> None:
    raw = (FIXTURES / "flanker-russian-attachment-yahoo.eml").read_bytes()
    message = normalize_email(raw, limits=Limits(max_attachment_bytes=10))
    assert message.attachments == ()
    assert message.meta["skipped_attachments"]


def test_tnef_is_kept_as_an_attachment_without_crashing() -> None:
    got = summary("zbateson-tnef-winmail.eml")
    assert any(a["content_type"] == "application/ms-tnef" for a in got["attachments"])
