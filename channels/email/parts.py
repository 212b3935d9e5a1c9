"""Walk a MIME tree: the readable text, the HTML, forwarded messages and attachments.

Nested multiparts, ``message/rfc822`` enclosures (forwarded as attachment), inline images and
TNEF (``winmail.dat``, kept as an opaque attachment) are handled; a part that fails to decode
becomes a note, never an exception.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import Message

from channels.base import InboundAttachment
from channels.email.charset import decode_text
from channels.email.headers import address_list, decode_value, header_text

__all__ = ["Body", "collect"]

_MAX_DEPTH = 12  # "enclosed-endless" mail nests forever; real forwards are shallow
_TEXT_TYPES = frozenset({"text/plain", "text/html", "text/enriched", "text/markdown"})


@dataclass(slots=True)
class Body:
    """What :func:`collect` found, in document order."""

    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    forwarded: list[str] = field(default_factory=list)
    attachments: list[InboundAttachment] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    inline_ids: list[str] = field(default_factory=list)


def _payload_bytes(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except (ValueError, AssertionError, LookupError):
        data = None
    if isinstance(data, bytes):
        return data
    raw = part.get_payload()
    return raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""


def _part_text(part: Message) -> str:
    charset = part.get_param("charset")
    return decode_text(_payload_bytes(part), str(charset) if charset else None)


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except (ValueError, LookupError, AssertionError):
        name = None
    if name is None:
        raw = part.get_param("name")
        name = str(raw) if raw else None
    if not name:
        return None
    # RFC 2231 is decoded by the parser; encoded words in names are a common non-standard.
    return decode_value(name).replace("/", "_").replace("\\", "_").strip()[:200] or None


def _is_attachment(part: Message, content_type: str) -> bool:
    disposition = str(part.get("Content-Disposition") or "").split(";")[0].strip().lower()
    if disposition == "attachment" or content_type not in _TEXT_TYPES:
        return True
    # A named text part shown inline (Netscape, Apple Mail) is the body; unnamed text too.
    return disposition != "inline" and _filename(part) is not None


def _forward_summary(inner: Message) -> str:
    sender = address_list(inner, "From")
    who = f"{sender[0][0]} <{sender[0][1]}>".strip() if sender else header_text(inner, "From")
    date, subject = header_text(inner, "Date"), header_text(inner, "Subject")
    return f"From: {who}\nDate: {date}\nSubject: {subject}"


def collect(message: Message, *, max_attachments: int, max_bytes: int) -> Body:
    """Everything readable or attached in ``message``."""
    body = Body()
    _walk(message, body, depth=0, limits=(max_attachments, max_bytes))
    return body


def _walk(part: Message, body: Body, *, depth: int, limits: tuple[int, int]) -> None:
    content_type = part.get_content_type()
    if part.is_multipart():
        if depth >= _MAX_DEPTH:
            body.skipped.append("nesting too deep")
            return
        children = part.get_payload()
        if content_type == "message/rfc822":
            for inner in children if isinstance(children, list) else []:
                if isinstance(inner, Message):
                    _forwarded(inner, body, depth=depth, limits=limits)
            return
        for child in children if isinstance(children, list) else []:
            if isinstance(child, Message):
                _walk(child, body, depth=depth + 1, limits=limits)
        return
    if content_type in {"message/delivery-status", "message/disposition-notification"}:
        return
    if _is_attachment(part, content_type):
        _attach(part, content_type, body, limits)
    elif content_type == "text/html":
        body.html.append(_part_text(part))
    else:
        body.plain.append(_part_text(part))


def _forwarded(inner: Message, body: Body, *, depth: int, limits: tuple[int, int]) -> None:
    enclosed = Body()
    _walk(inner, enclosed, depth=depth + 1, limits=limits)
    text = "\n\n".join(t.strip() for t in enclosed.plain if t.strip())
    body.forwarded.append(f"{_forward_summary(inner)}\n\n{text}".strip())
    body.html.extend(enclosed.html if not body.html and not body.plain else [])
    body.attachments.extend(enclosed.attachments)
    body.skipped.extend(enclosed.skipped)


def _attach(part: Message, content_type: str, body: Body, limits: tuple[int, int]) -> None:
    max_files, max_bytes = limits
    data = _payload_bytes(part)
    name = _filename(part) or _default_name(content_type, len(body.attachments) + 1)
    if not data:
        return
    if len(data) > max_bytes:
        body.skipped.append(f"{name}: {len(data)} bytes is over the {max_bytes}-byte limit")
        return
    if len(body.attachments) >= max_files:
        body.skipped.append(f"{name}: over the limit of {max_files} attachments")
        return
    if part.get("Content-ID"):
        body.inline_ids.append(str(part.get("Content-ID")).strip().strip("<>"))
    body.attachments.append(
        InboundAttachment(filename=name, content_type=content_type, content=data)
    )


def _default_name(content_type: str, number: int) -> str:
    if content_type == "application/ms-tnef":
        return "winmail.dat"
    extension = {
        "image/png": "png",
        "image/jpeg": "jpg",
        "image/gif": "gif",
        "application/pdf": "pdf",
        "message/rfc822": "eml",
        "text/calendar": "ics",
    }.get(content_type, "bin")
    return f"attachment-{number}.{extension}"
