"""Callback data that cannot be forged: ``action:ticket:arg:signature``, under 64 bytes.

The signature is an HMAC over the action, ticket, argument and the *scope* — the Telegram user
a requester's button was made for, or ``desk`` for the agents' group — so a button copied into
another chat, or data typed by hand, does not verify. It is a first filter only: every handler
still checks in the database that the presser may act on that ticket.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from channels.telegram.render import MAX_CALLBACK_BYTES

__all__ = ["Callback", "CallbackSigner"]

_SIGNATURE_BYTES = 8


@dataclass(frozen=True, slots=True)
class Callback:
    """What verified callback data asks for."""

    action: str
    ticket: int
    arg: str = ""


class CallbackSigner:
    """Packs and verifies callback data with the installation secret."""

    def __init__(self, secret: bytes) -> None:
        self._key = hashlib.sha256(b"okno telegram callbacks\0" + secret).digest()

    def _signature(self, scope: str, action: str, ticket: int, arg: str) -> str:
        message = f"{scope}|{action}|{ticket}|{arg}".encode()
        digest = hmac.new(self._key, message, hashlib.sha256).digest()[:_SIGNATURE_BYTES]
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def token(self, purpose: str, value: int) -> str:
        """A URL-safe signature of ``value`` for ``purpose`` (e.g. a deep-link payload)."""
        return self._signature(purpose, "token", value, "")

    def pack(self, scope: str | int, action: str, ticket: int, arg: str = "") -> str:
        """Data for a button that only ``scope`` may press.

        Raises:
            ValueError: a field holds ``:`` or the result exceeds 64 bytes.
        """
        if ":" in action or ":" in arg:
            msg = "callback fields must not contain ':'"
            raise ValueError(msg)
        data = f"{action}:{ticket}:{arg}:{self._signature(str(scope), action, ticket, arg)}"
        if len(data.encode()) > MAX_CALLBACK_BYTES:
            msg = f"callback data over {MAX_CALLBACK_BYTES} bytes: {data!r}"
            raise ValueError(msg)
        return data

    def unpack(self, scope: str | int, data: str | None) -> Callback | None:
        """The callback when ``data`` was made by :meth:`pack` for ``scope``; else None."""
        parts = (data or "").split(":")
        if len(parts) != 4 or not parts[1].isdigit():
            return None
        action, ticket, arg, signature = parts[0], int(parts[1]), parts[2], parts[3]
        expected = self._signature(str(scope), action, ticket, arg)
        if not hmac.compare_digest(expected, signature):
            return None
        return Callback(action, ticket, arg)
