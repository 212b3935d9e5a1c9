"""The pure mail renderer: one :class:`OutboundMessage` in, one ``EmailMessage`` out.

Our Message-ID is derived from the outbox idempotency key, so a retried send carries the same
id (the recipient's server and client see one message) and replies to it thread back to the
ticket. Every header value is checked for CR/LF first: header injection is impossible.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from channels.base import OutboundMessage
from channels.email.headers import message_ids
from channels.email.subject import tag_subject

__all__ = ["HeaderInjectionError", "Identity", "OutgoingFile", "make_message_id", "render_email"]

# 7-bit transfer encodings: any relay accepts them, 8BITMIME or not.
_POLICY = SMTP.clone(cte_type="7bit")
_CONTROL = re.compile(r"[\r\n\x00]")
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


def _address(value: str, what: str) -> Address:
    value = _safe(value, what).strip()
    if not _ADDRESS.match(value):
        msg = f"{what} {value!r} is not an e-mail address"
        raise HeaderInjectionError(msg)
    local, _, domain = value.rpartition("@")
    return Address(username=local, domain=domain)


def render_email(
    message: OutboundMessage,
    *,
    identity: Identity,
    now: datetime,
    files: Sequence[OutgoingFile] = (),
) -> EmailMessage:
    """Build the mail for ``message``; raises :class:`HeaderInjectionError` on bad values."""
    mail = EmailMessage(policy=_POLICY)
    sender = _address(identity.address, "From address")
    mail["From"] = Address(
        display_name=_safe(identity.display_name, "display name"),
        username=sender.username,
        domain=sender.domain,
    )
    mail["To"] = _address(message.recipient.address, "recipient")
    mail["Reply-To"] = sender
    mail["Subject"] = _safe(tag_subject(message.subject, message.ticket_number), "subject")
    mail["Date"] = format_datetime(now)
    mail["Message-ID"] = make_message_id(message.idempotency_key, identity.id_domain)
    hint = message.recipient.thread_hint or ""
    thread = message_ids(_safe(hint, "thread hint"))
    if thread:
        mail["In-Reply-To"] = thread[-1]
        mail["References"] = " ".join(thread)
    if message.automatic:
        # RFC 3834: answers by a machine; Exchange's OOF honours the suppress header.
        mail["Auto-Submitted"] = "auto-replied"
        mail["X-Auto-Response-Suppress"] = "All"
    if message.ticket_number is not None:
        mail["X-Okno-Ticket"] = str(message.ticket_number)
    mail.set_content(message.text or " ", subtype="plain", charset="utf-8")
    if message.html:
        mail.add_alternative(message.html, subtype="html", charset="utf-8")
    for file in files:
        maintype, _, subtype = file.content_type.partition("/")
        mail.add_attachment(
            file.content,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=_safe(file.filename, "attachment name"),
        )
    return mail
