"""Header decoding that survives real mail: RFC 2047 words, raw 8-bit bytes, broken addresses.

The message is parsed with the lenient ``compat32`` policy (the modern policy raises on some
defects); every value is then decoded here, so a broken header costs a few characters, never
the message.
"""

from __future__ import annotations

import hashlib
import re
from email.header import decode_header
from email.message import Message
from email.utils import getaddresses, parseaddr

from channels.email.charset import decode_text

__all__ = [
    "address_list",
    "canonical_id",
    "decode_value",
    "header_text",
    "message_ids",
    "raw_values",
    "sender_address",
]

_WS = re.compile(r"\s+")
_MSG_ID = re.compile(r"<([^<>\s]{1,900})>")
_BARE_ID = re.compile(r"^[^<>\s@]+@[^<>\s@]+$")
_ADDRESS = re.compile(r"^[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+$")
_ANY_ADDRESS = re.compile(r"[\w.+'=-]+@[\w-]+(?:\.[\w-]+)+")
# external_id is a VARCHAR(255); longer Message-IDs are replaced by a stable digest.
_MAX_ID = 200


def decode_value(value: object) -> str:
    """Decode one raw header value (``str`` with surrogate-escaped bytes, or a Header)."""
    raw = str(value)
    # compat32 keeps undeclared 8-bit bytes as surrogate escapes; get the bytes back.
    data = raw.encode("ascii", "surrogateescape") if _has_surrogates(raw) else None
    if data is not None:
        raw = decode_text(data)
    try:
        chunks = decode_header(raw)
    except (ValueError, LookupError, AssertionError):
        return _WS.sub(" ", raw).strip()
    parts: list[str] = []
    for chunk, charset in chunks:
        if isinstance(chunk, str):
            parts.append(chunk)
        else:
            parts.append(decode_text(chunk, charset))
    # Plain chunks keep their own spaces; between encoded words whitespace is dropped (RFC 2047).
    text = "".join(parts)
    return _WS.sub(" ", text).strip()


def _unescaped(raw: str) -> str:
    """Raw 8-bit header bytes (RFC 6532 UTF-8, or a legacy charset) as text."""
    if _has_surrogates(raw):
        return decode_text(raw.encode("ascii", "surrogateescape"))
    return raw


def _has_surrogates(text: str) -> bool:
    # Nearly every header is ASCII: one C-level check instead of a loop over its characters.
    return not text.isascii() and any("\udc80" <= c <= "\udcff" for c in text)


def raw_values(message: Message, name: str) -> list[str]:
    """Every ``name`` header as it came: compat32 would wrap 8-bit values in lossy Headers."""
    wanted = name.lower()
    return [str(value) for key, value in message.raw_items() if key.lower() == wanted]


def header_text(message: Message, name: str) -> str:
    """The decoded, unfolded value of the first ``name`` header, or ``""``."""
    values = raw_values(message, name)
    return decode_value(values[0]) if values else ""


def _clean_address(address: str) -> str | None:
    address = address.strip().strip("<>").strip().rstrip(".")
    if not _ADDRESS.match(address):
        return None
    local, _, domain = address.rpartition("@")
    return f"{local}@{domain.lower()}"


def address_list(message: Message, *names: str) -> list[tuple[str, str]]:
    """``(display name, address)`` pairs from the given headers; unusable entries dropped."""
    values = [_unescaped(v) for name in names for v in raw_values(message, name)]
    found: list[tuple[str, str]] = []
    for name, address in getaddresses(values):
        clean = _clean_address(address)
        if clean is not None:
            found.append((decode_value(name).strip("\"' "), clean))
    return found


def sender_address(message: Message) -> tuple[str, str] | None:
    """Who wrote: From, else Sender, else Return-Path. ``None`` when none is an address."""
    for header in ("From", "Sender", "Reply-To", "Return-Path"):
        pairs = address_list(message, header)
        if pairs:
            return pairs[0]
    # Some broken mailers put only the display name in From with the address in brackets
    # elsewhere; parseaddr on the decoded text is the last try.
    text = header_text(message, "From")
    name, address = parseaddr(text)
    clean = _clean_address(address)
    if clean is None and (loose := _ANY_ADDRESS.search(text)) is not None:
        # "Big Bug bb@bug.com": an address without brackets after a bare name.
        name, clean = text[: loose.start()].strip(" \"'"), _clean_address(loose.group(0))
    return None if clean is None else (name, clean)


def canonical_id(value: str) -> str:
    """``<local@domain>`` as written, or a digest when it would not fit the inbox key."""
    value = value.strip()
    if not value.startswith("<"):
        value = f"<{value}>"
    if len(value) > _MAX_ID:
        return "sha256:" + hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()
    return value


def message_ids(value: str) -> list[str]:
    """Every ``<id>`` in a Message-ID, In-Reply-To or References value, in order."""
    found = [canonical_id(f"<{m}>") for m in _MSG_ID.findall(value)]
    if not found and _BARE_ID.match(value.strip()):
        found.append(canonical_id(value))  # some mailers omit the angle brackets
    return found
