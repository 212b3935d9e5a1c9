"""Secrets that stand for something: status-page links and API bearer tokens.

Status links are derived with HMAC from the installation secret and the ticket id, so every
notification can carry the link again without the plaintext ever being stored; the database
keeps only its SHA-256 for lookup. API tokens are random and stored as SHA-256 only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class StatusTokens:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def token_for(self, ticket_id: int) -> str:
        mac = hmac.new(self._secret, f"status:{ticket_id}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac[:24]).decode().rstrip("=")

    def hash_for(self, ticket_id: int) -> str:
        return sha256_hex(self.token_for(ticket_id))


def new_api_token() -> str:
    """A fresh bearer token: ``okno_`` and 32 random bytes, URL-safe."""
    return "okno_" + secrets.token_urlsafe(32)
