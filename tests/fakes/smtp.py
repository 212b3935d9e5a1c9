"""aiosmtpd as the SMTP server the tests send to: every accepted mail is kept for inspection."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.fakes.dovecot import free_port


@dataclass
class ReceivedMail:
    sender: str
    recipients: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = BytesParser(policy=default).parsebytes(self.raw)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class _Authenticator:
    login: tuple[str, str]

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and (
                auth_data.login.decode(),
                auth_data.password.decode(),
            )
            == self.login
        )
        return AuthResult(success=ok, handled=False)


@dataclass
class _Handler:
    received: list[ReceivedMail] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    refuse_with: str | None = None

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.refuse_with is not None:
            return self.refuse_with
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self.lock:
            self.received.append(
                ReceivedMail(
                    sender=envelope.mail_from,
                    recipients=list(envelope.rcpt_tos),
                    raw=bytes(envelope.original_content or envelope.content),
                )
            )
        return "250 Message accepted"


def self_signed(directory: Path) -> ssl.SSLContext:
    """A server TLS context with a fresh self-signed certificate for 127.0.0.1 (openssl CLI)."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


class FakeSmtp:
    """An aiosmtpd server on a free loopback port (in its own thread, as aiosmtpd runs).

    ``security``: ``none``; ``starttls`` (STARTTLS and AUTH required); ``tls`` (implicit TLS).
    With a password, AUTH PLAIN/LOGIN must succeed before MAIL.
    """

    def __init__(
        self,
        *,
        security: str = "none",
        tls: ssl.SSLContext | None = None,
        login: tuple[str, str] | None = None,
    ) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self.handler = _Handler()
        options: dict[str, Any] = {}
        if security == "starttls":
            options |= {"tls_context": tls, "require_starttls": True}
        elif security == "tls":
            options |= {"ssl_context": tls}
        if login is not None:
            # aiosmtpd counts only STARTTLS as TLS (implicit TLS wraps the socket itself), and
            # warns about AUTH required without it: there AUTH is offered, not required.
            starttls = security == "starttls"
            options |= {
                "authenticator": _Authenticator(login),
                "auth_required": starttls,
                "auth_require_tls": starttls,
            }
        self._controller = Controller(
            self.handler, hostname=self.host, port=self.port, server_hostname=self.host, **options
        )

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    @property
    def received(self) -> list[ReceivedMail]:
        with self.handler.lock:
            return list(self.handler.received)

    async def wait_for(self, count: int, within: float = 15.0) -> list[ReceivedMail]:
        """Wait until at least ``count`` mails arrived; returns all of them."""
        deadline = asyncio.get_running_loop().time() + within
        while len(self.received) < count:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"expected {count} mails, got {len(self.received)}")
            await asyncio.sleep(0.02)
        return self.received
