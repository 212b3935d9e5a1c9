"""The pure mail renderer: one :class:`OutboundMessage` in, one MIME message out.

Our Message-ID is derived from the outbox idempotency key, so a retried send carries the same
id (the recipient's server and client see one message) and replies to it thread back to the
ticket. Every header value is checked for CR/LF first: header injection is impossible.

The message is built with the ``compat32`` classes and every header encoded here (RFC 2047
words, RFC 2231 file names, base64 bodies: 7-bit clean for any relay), every multipart with
its boundary set, so :func:`channels.email.flatten.flatten_email` writes the headers as they
are and the generator never searches the bodies for a boundary. The
modern ``EmailMessage`` API parses and refolds each header through its header registry, which
made building and flattening one acknowledgement cost more than parsing the mail it answers.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email import encoders
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr

from channels.base import OutboundMessage
from channels.email.headers import message_ids
from channels.email.subject import tag_subject

__all__ = [
    "HeaderInjectionError",
    "Identity",
    "OutgoingFile",
    "make_message_id",
    "needs_smtputf8",
    "omitted_files_note",
    "render_email",
]

_CONTROL = re.compile(r"[\r\n\x00]")
# 36 bytes make 48 base64 characters, a word of 60: with "Subject: " before it (or the folding
# space) a line stays within RFC 2047's 76.
_WORD_BYTES = 36
_ADDRESS = re.compile(r"^[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+$")


class HeaderInjectionError(ValueError):
    """A header value carried CR, LF or NUL, or an address was not an address."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Identity:
    """Who we are in mail: the From address and the domain of our Message-IDs."""

    address: str
    display_name: str
    id_domain: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OutgoingFile:
    """An attachment's bytes, loaded by the adapter from the file store."""

    filename: str
    content_type: str
    content: bytes


def make_message_id(idempotency_key: str, domain: str) -> str:
    """Our Message-ID for one outbox row: the same on every attempt."""
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}.okno@{domain}>"


def _safe(value: str, what: str) -> str:
    if _CONTROL.search(value):
        msg = f"{what} contains CR, LF or NUL: refusing to build the header"
        raise HeaderInjectionError(msg)
    return value


def _address(value: str, what: str) -> str:
    """A bare address fit for a header: ASCII, the domain IDNA-encoded if need be."""
    value = _safe(value, what).strip()
    if not _ADDRESS.match(value):
        msg = f"{what} {value!r} is not an e-mail address"
        raise HeaderInjectionError(msg)
    local, _, domain = value.rpartition("@")
    if not local.isascii():
        return value  # only SMTPUTF8 can carry it, and it carries the domain as is too
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError as exc:
            msg = f"{what} {value!r}: the domain is not a valid international name"
            raise HeaderInjectionError(msg) from exc
    return f"{local}@{domain}"


def _text(value: str, *, utf8: bool) -> str:
    """A free-text header value: as is when ASCII (or sent with SMTPUTF8), else RFC 2047
    encoded words separated by spaces (the writer folds there)."""
    return value if utf8 or value.isascii() else encoded_words(value)


def encoded_words(value: str) -> str:
    """``value`` as RFC 2047 "B" words of 60 characters at most, never splitting a character.

    Decoders join adjacent encoded words and drop the space between them.
    """
    words: list[str] = []
    chunk = b""
    for char in value:
        encoded = char.encode("utf-8")
        if len(chunk) + len(encoded) > _WORD_BYTES:
            words.append(_word(chunk))
            chunk = b""
        chunk += encoded
    if chunk or not words:
        words.append(_word(chunk))
    return " ".join(words)


def _word(chunk: bytes) -> str:
    return f"=?utf-8?b?{base64.b64encode(chunk).decode('ascii')}?="


def needs_smtputf8(mail: Message) -> bool:
    """Whether the mail names an address only SMTPUTF8 can carry (a non-ASCII local part).

    Such a mail is flattened with the ``SMTPUTF8`` policy: its headers travel as UTF-8.
    """
    return not str(mail["To"]).isascii()


def _body(message: OutboundMessage, boundary: str) -> Message:
    plain = MIMEText(message.text or " ", "plain", "utf-8")
    if not message.html:
        return plain
    alternative = MIMEMultipart("alternative", boundary=f"{boundary}.alt")
    alternative.attach(plain)
    alternative.attach(MIMEText(message.html, "html", "utf-8"))
    return alternative


def _attachment(file: OutgoingFile) -> Message:
    maintype, _, subtype = file.content_type.partition("/")
    part = MIMEBase(maintype or "application", subtype or "octet-stream")
    part.set_payload(file.content)
    encoders.encode_base64(part)
    name = _safe(file.filename, "attachment name")
    # RFC 2231 for names beyond ASCII («инструкция.pdf»), plain otherwise.
    filename: str | tuple[str, str, str] = name if name.isascii() else ("utf-8", "", name)
    part.add_header("Content-Disposition", "attachment", filename=filename)
    return part


def render_email(
    message: OutboundMessage,
    *,
    identity: Identity,
    now: datetime,
    files: Sequence[OutgoingFile] = (),
) -> Message:
    """Build the mail for ``message``; raises :class:`HeaderInjectionError` on bad values."""
    sender = _address(identity.address, "From address")
    recipient = _address(message.recipient.address, "recipient")
    subject = _safe(tag_subject(message.subject, message.ticket_number), "subject")
    display_name = _safe(identity.display_name, "display name")
    thread = message_ids(_safe(message.recipient.thread_hint or "", "thread hint"))
    message_id = make_message_id(message.idempotency_key, identity.id_domain)
    # Base64 bodies never hold "=_" or ".", and a delimiter line starts with "--": these
    # boundaries cannot occur inside the parts, so no search for a fresh one is needed.
    boundary = f"=_okno.{message_id[1:17]}"
    mail = _body(message, boundary)
    if files:
        mixed = MIMEMultipart("mixed", boundary=f"{boundary}.mix")
        mixed.attach(mail)
        for file in files:
            mixed.attach(_attachment(file))
        mail = mixed
    utf8 = not recipient.isascii()
    mail["From"] = (
        formataddr((display_name, sender))
        if utf8 or display_name.isascii()
        else f"{encoded_words(display_name)} <{sender}>"
    )
    mail["To"] = recipient
    mail["Reply-To"] = sender
    mail["Subject"] = _text(subject, utf8=utf8)
    mail["Date"] = format_datetime(now)
    mail["Message-ID"] = message_id
    if thread:
        mail["In-Reply-To"] = thread[-1]
        mail["References"] = " ".join(thread)
    if message.automatic:
        # RFC 3834: answers by a machine; Exchange's OOF honours the suppress header.
        mail["Auto-Submitted"] = "auto-replied"
        mail["X-Auto-Response-Suppress"] = "All"
    if message.ticket_number is not None:
        mail["X-Okno-Ticket"] = str(message.ticket_number)
    return mail


def omitted_files_note(names: Sequence[str], link: str | None) -> tuple[str, str]:
    """The text and HTML lines saying which files were too large to attach, and where they are.

    Bilingual: the adapter does not know the recipient's language.
    """
    listed = ", ".join(names)
    where = f": {link}" if link else ""
    text = (
        f"Файлы не вложены (слишком велики для письма) / Files not attached (too large): "
        f"{listed}. Они в заявке / They are on the ticket{where}"
    )
    markup = html.escape(text[: len(text) - len(where)])
    if link:
        markup += f': <a href="{html.escape(link)}">{html.escape(link)}</a>'
    return text, f"<p>{markup}</p>"
