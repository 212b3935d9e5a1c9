"""Stateless CSRF protection: a signed double-submit token bound to a cookie nonce.

The ``okno_csrf`` cookie (HttpOnly, SameSite=Strict) holds a random nonce. A rendered form
carries ``<timestamp>.<HMAC-SHA256(secret, nonce|timestamp)>``; a POST is genuine when the
cookie is present and the form's token is the MAC of that cookie's nonce, compared in constant
time and younger than ``max_age``. No server-side session is stored, several open tabs share
one nonce, and another site can neither read the cookie nor forge the MAC.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from datetime import datetime

from aiohttp import web

COOKIE_NAME = "okno_csrf"
FIELD_NAME = "csrf_token"
_NONCE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")


class CsrfGuard:
    """Issues and checks CSRF tokens.

    Args:
        secret: the installation secret (at least 16 bytes).
        max_age: seconds a token stays valid after the form was rendered.
        now: the clock.
        secure_cookie: mark the cookie ``Secure`` (the site is served over HTTPS).
    """

    def __init__(
        self,
        secret: bytes,
        *,
        max_age: int,
        now: Callable[[], datetime],
        secure_cookie: bool = False,
    ) -> None:
        if len(secret) < 16:
            msg = "the CSRF secret must be at least 16 bytes"
            raise ValueError(msg)
        self._key = hmac.new(secret, b"okno-csrf", hashlib.sha256).digest()
        self._max_age = max_age
        self._now = now
        self._secure = secure_cookie

    def nonce_of(self, request: web.Request) -> str | None:
        """The request's cookie nonce, if it has a well-formed one."""
        value = request.cookies.get(COOKIE_NAME, "")
        return value if _NONCE.fullmatch(value) else None

    def issue(self, request: web.Request) -> tuple[str, str]:
        """``(nonce, token)`` for a form rendered now; reuses the visitor's nonce if any."""
        nonce = self.nonce_of(request) or secrets.token_urlsafe(32)
        return nonce, self.token_for(nonce)

    def token_for(self, nonce: str) -> str:
        timestamp = str(int(self._now().timestamp()))
        return f"{timestamp}.{self._mac(nonce, timestamp)}"

    def set_cookie(self, response: web.StreamResponse, nonce: str) -> None:
        """Give the visitor the nonce the rendered token is bound to."""
        response.set_cookie(
            COOKIE_NAME,
            nonce,
            httponly=True,
            samesite="Strict",
            secure=self._secure,
            path="/",
        )

    def check(self, request: web.Request, token: str | None) -> bool:
        """True if ``token`` is this request's cookie nonce, signed and not expired."""
        nonce = self.nonce_of(request)
        if nonce is None or not token:
            return False
        timestamp, _, mac = token.partition(".")
        if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
            return False
        age = self._now().timestamp() - int(timestamp)
        if not -60 <= age <= self._max_age:
            return False
        expected = self._mac(nonce, timestamp)
        return hmac.compare_digest(expected.encode(), mac.encode("utf-8", "replace"))

    def _mac(self, nonce: str, timestamp: str) -> str:
        digest = hmac.new(self._key, f"{nonce}|{timestamp}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")
