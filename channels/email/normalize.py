"""The pure mail parser: raw RFC 5322 bytes in, one :class:`InboundMessage` out.

No I/O and no clock of its own: the same bytes always give the same message, so it is tested
on raw fixtures. Mail it cannot turn into a message (no sender address at all) raises
:class:`UnprocessableMailError`; the adapter keeps such mail in the quarantine.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32
from email.utils import parsedate_to_datetime

from channels.base import ChannelKind, InboundMessage, ReplyAddress, Sender, ThreadRefs
from channels.email.headers import address_list, header_text, message_ids, sender_address
from channels.email.htmltext import html_to_text, sanitize_html
from channels.email.loop import bounced_recipients, detect_auto_generated
from channels.email.parts import collect
from channels.email.quoting import strip_quoted
from channels.email.subject import is_forward, strip_subject, ticket_tag

__all__ = ["Limits", "UnprocessableMailError", "normalize_email", "parse_bytes"]

_MAX_HTML_CHARS = 1_000_000
_MAX_REFERENCES = 30
_CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)
_LATIN = re.compile(r"[a-z]", re.IGNORECASE)


class UnprocessableMailError(ValueError):
    """The mail cannot become a message; it goes to the quarantine with this reason."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """What the parser keeps, and what counts as ours."""

    max_attachments: int = 20
    max_attachment_bytes: int = 10 * 1024 * 1024
    own_domain: str = ""
    own_address: str = ""


def parse_bytes(raw: bytes) -> Message:
    """The lenient parse every other function here starts from."""
    return BytesParser(policy=compat32).parsebytes(raw)


def _received_at(message: Message) -> datetime | None:
    value = header_text(message, "Date")
    try:
        parsed = parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _locale_of(text: str) -> str | None:
    cyrillic, latin = len(_CYRILLIC.findall(text)), len(_LATIN.findall(text))
    if cyrillic > latin / 2 and cyrillic:
        return "ru"
    return "en" if latin > 20 else None


def _references(message: Message) -> tuple[str, ...]:
    """Replied-to ids, the most direct first: In-Reply-To, then References newest first."""
    ordered = message_ids(header_text(message, "In-Reply-To"))
    ordered += reversed(message_ids(header_text(message, "References")))
    unique = list(dict.fromkeys(ordered))
    return tuple(unique[:_MAX_REFERENCES])


def external_id_of(message: Message, raw: bytes) -> str:
    """The Message-ID, or a stable digest of the bytes when there is none."""
    ids = message_ids(header_text(message, "Message-ID"))
    return ids[0] if ids else "sha256:" + hashlib.sha256(raw).hexdigest()


def normalize_email(
    raw: bytes, *, limits: Limits | None = None, received_at: datetime | None = None
) -> InboundMessage:
    """Turn one raw mail into a message for the intake.

    Raises:
        UnprocessableMailError: the mail names no sender address at all.
    """
    limits = limits or Limits()
    message = parse_bytes(raw)
    found = sender_address(message)
    if found is None:
        msg = "no sender address (From, Sender, Reply-To and Return-Path are all unusable)"
        raise UnprocessableMailError(msg)
    name, address = found
    subject_raw = header_text(message, "Subject")
    forward = is_forward(subject_raw)
    body = collect(
        message,
        max_attachments=limits.max_attachments,
        max_bytes=limits.max_attachment_bytes,
    )
    html = "\n".join(h for h in body.html if h.strip()) or None
    full_text = "\n\n".join(t.strip() for t in body.plain if t.strip())
    if not full_text and html:
        full_text = html_to_text(html)
    if body.forwarded:
        label = "---------- Forwarded message ----------"
        full_text = "\n\n".join([full_text, *(f"{label}\n{f}" for f in body.forwarded)])
    text = strip_quoted(full_text, forward=forward or bool(body.forwarded))
    auto = detect_auto_generated(
        message, sender=address, own_domain=limits.own_domain, own_address=limits.own_address
    )
    external_id = external_id_of(message, raw)
    reply_pairs = address_list(message, "Reply-To")
    reply_address = reply_pairs[0][1] if reply_pairs and auto is None else address
    meta: dict[str, object] = {
        "message_id": external_id,
        "subject": subject_raw,
        "to": [a for _, a in address_list(message, "To")],
        "cc": [a for _, a in address_list(message, "Cc")],
        "full_text_chars": len(full_text),
    }
    if auto == "bounce":
        meta["bounced"] = bounced_recipients(message)
    if body.skipped:
        meta["skipped_attachments"] = body.skipped
    return InboundMessage(
        channel=ChannelKind.EMAIL,
        external_id=external_id,
        sender=Sender(name=name, email=address, locale=_locale_of(text or subject_raw)),
        text=text,
        subject=strip_subject(subject_raw),
        html=sanitize_html(html[:_MAX_HTML_CHARS]) if html else None,
        received_at=received_at or _received_at(message) or datetime(1970, 1, 1, tzinfo=UTC),
        reply_to=ReplyAddress(
            channel=ChannelKind.EMAIL, address=reply_address, thread_hint=external_id
        ),
        refs=ThreadRefs(ticket_number=ticket_tag(subject_raw), message_ids=_references(message)),
        attachments=tuple(body.attachments),
        auto_generated=auto,
        meta=meta,
    )
