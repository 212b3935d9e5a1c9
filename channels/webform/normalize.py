"""Pure validation of a form submission and its translation into an :class:`InboundMessage`.

Errors are codes with parameters (``FieldError("too_long", {"max": 200})``), translated only
when rendered, so the HTML form and the JSON API report the same problems.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from channels.base import InboundAttachment, InboundMessage, ReplyAddress, Sender
from channels.phones import normalize_phone
from ticketing.domain import ChannelKind

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_WHITESPACE = re.compile(r"\s+")
_LOCAL_PART = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$"
)
_DOMAIN = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$")


@dataclass(frozen=True, slots=True)
class FieldError:
    """What is wrong with one field: a message code and its parameters."""

    code: str
    params: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """Field and attachment limits of one form."""

    max_name_chars: int = 200
    max_subject_chars: int = 200
    min_text_chars: int = 10
    max_text_chars: int = 20_000
    max_attachments: int = 10
    max_attachment_bytes: int = 10 * 1024 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class Submission:
    """A valid submission: every field checked and normalised."""

    submission_id: str
    name: str
    email: str | None
    phone: str | None
    service: str | None
    subject: str
    description: str


def clean_line(value: str) -> str:
    """One line of text: control characters dropped, whitespace runs made one space."""
    return _WHITESPACE.sub(" ", _CONTROL.sub("", value)).strip()


def clean_text(value: str) -> str:
    """Multi-line text: newlines unified, control characters (NUL included) dropped."""
    return _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n")).strip()


def normalize_email(value: str) -> str | None:
    """``Name@Example.COM`` → ``name@example.com``; None if it is not an address."""
    local, at, domain = value.strip().rpartition("@")
    if not at or len(value) > 254 or len(local) > 64 or not _LOCAL_PART.fullmatch(local):
        return None
    try:
        ascii_domain = domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None
    if not _DOMAIN.fullmatch(ascii_domain):
        return None
    return f"{local}@{ascii_domain}".lower()


def _length(value: str, *, low: int, high: int, errors: dict[str, FieldError], key: str) -> None:
    if key in errors:
        return
    if not value:
        errors[key] = FieldError("required")
    elif len(value) > high:
        errors[key] = FieldError("too_long", {"max": high, "length": len(value)})
    elif len(value) < low:
        errors[key] = FieldError("too_short", {"min": low, "length": len(value)})


def validate_submission(
    values: Mapping[str, object], *, service_ids: Collection[str], limits: Limits
) -> tuple[Submission | None, dict[str, FieldError]]:
    """Check every field; return the submission, or None and an error per bad field."""
    errors: dict[str, FieldError] = {}
    texts: dict[str, str] = {}
    for key in ("submission_id", "name", "email", "phone", "service", "subject", "description"):
        raw = values.get(key)
        if raw is not None and not isinstance(raw, str):
            errors[key] = FieldError("not_text")
        texts[key] = raw if isinstance(raw, str) else ""
    name, subject = clean_line(texts["name"]), clean_line(texts["subject"])
    description = clean_text(texts["description"])
    _length(name, low=1, high=limits.max_name_chars, errors=errors, key="name")
    _length(subject, low=1, high=limits.max_subject_chars, errors=errors, key="subject")
    _length(
        description,
        low=limits.min_text_chars,
        high=limits.max_text_chars,
        errors=errors,
        key="description",
    )
    email_text, phone_text = texts["email"].strip(), texts["phone"].strip()
    email = normalize_email(email_text) if email_text else None
    phone = normalize_phone(phone_text) if phone_text else None
    if email_text and email is None:
        errors.setdefault("email", FieldError("email_invalid"))
    if phone_text and phone is None:
        errors.setdefault("phone", FieldError("phone_invalid"))
    if not email_text and not phone_text and "email" not in errors and "phone" not in errors:
        errors["contact"] = FieldError("contact_required")
    service = texts["service"].strip() or None
    if service is not None and service not in service_ids:
        errors.setdefault("service", FieldError("service_unknown"))
    submission_id = _uuid(texts["submission_id"])
    if submission_id is None:
        errors.setdefault("submission_id", FieldError("submission_invalid"))
    if errors or submission_id is None:
        return None, errors
    submission = Submission(
        submission_id=submission_id,
        name=name,
        email=email,
        phone=phone,
        service=service,
        subject=subject,
        description=description,
    )
    return submission, {}


def _uuid(value: str) -> str | None:
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        return None


def to_inbound(
    submission: Submission,
    *,
    attachments: Sequence[InboundAttachment],
    locale: str,
    client_ip: str | None,
    received_at: datetime,
) -> InboundMessage:
    """The message the intake stores: answered by e-mail if given, else by phone."""
    if submission.email is not None:
        reply = ReplyAddress(channel=ChannelKind.EMAIL, address=submission.email)
    else:
        assert submission.phone is not None  # noqa: S101 - validation requires one of them
        reply = ReplyAddress(channel=ChannelKind.PHONE, address=submission.phone)
    return InboundMessage(
        channel=ChannelKind.WEBFORM,
        external_id=submission.submission_id,
        sender=Sender(
            name=submission.name, email=submission.email, phone=submission.phone, locale=locale
        ),
        text=submission.description,
        subject=submission.subject,
        received_at=received_at,
        reply_to=reply,
        attachments=tuple(attachments),
        service=submission.service,
        meta={"client_ip": client_ip} if client_ip else {},
    )
