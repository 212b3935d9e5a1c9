"""A small pool of SMTP connections (aiosmtplib): implicit TLS or STARTTLS, auth, timeouts.

The dispatcher sends several mails at once; opening a connection per mail costs a TCP (and TLS)
handshake and a login each time, so connections are kept and reused. A connection that failed
is dropped, never returned to the pool.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from email.message import Message

import aiosmtplib

from channels.email.flatten import flatten_email
from channels.email.render import needs_smtputf8
from channels.email.settings import Security, SmtpSettings

__all__ = ["SmtpPool"]


def _tls_context(verify: bool) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class SmtpPool:
    """Up to ``size`` open connections to one server."""

    def __init__(self, settings: SmtpSettings, *, size: int = 4) -> None:
        self._settings = settings
        self._idle: list[aiosmtplib.SMTP] = []
        self._slots = asyncio.Semaphore(size)

    def client(self) -> aiosmtplib.SMTP:
        """A new, unconnected client built from the settings."""
        settings = self._settings
        password = settings.password.get_secret_value() if settings.password else None
        return aiosmtplib.SMTP(
            hostname=settings.host,
            port=settings.port,
            username=settings.username or None,
            password=password if settings.username else None,
            use_tls=settings.security is Security.TLS,
            start_tls=settings.security is Security.STARTTLS,
            tls_context=_tls_context(settings.verify_certificates)
            if settings.security is not Security.NONE
            else None,
            timeout=settings.timeout_seconds,
        )

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[aiosmtplib.SMTP]:
        """A connected, logged-in client; returned to the pool only if nothing failed."""
        async with self._slots:
            smtp = self._idle.pop() if self._idle else None
            if smtp is None or not smtp.is_connected:
                smtp = self.client()
                await smtp.connect()
            try:
                yield smtp
            except BaseException:
                await _quietly_close(smtp)
                raise
            self._idle.append(smtp)

    async def send(self, mail: Message, sender: str, recipients: Sequence[str]) -> None:
        """Send one mail; a reused connection the server closed meanwhile is retried once.

        The mail goes as bytes from :func:`flatten_email` (aiosmtplib's own flattening runs
        the standard library's generator with ``compat32`` header folding, several times
        slower); a mail naming an address with a non-ASCII local part asks for SMTPUTF8,
        which a server without it refuses.
        """
        raw = flatten_email(mail)
        options = ["SMTPUTF8"] if needs_smtputf8(mail) else []
        for attempt in (1, 2):
            try:
                async with self.connection() as smtp:
                    await smtp.sendmail(sender, list(recipients), raw, mail_options=options)
                return
            except aiosmtplib.SMTPServerDisconnected:
                if attempt == 2:
                    raise

    async def close(self) -> None:
        """Say QUIT on every idle connection."""
        while self._idle:
            await _quietly_close(self._idle.pop())


async def _quietly_close(smtp: aiosmtplib.SMTP) -> None:
    try:
        if smtp.is_connected:
            await asyncio.wait_for(smtp.quit(), timeout=5)
    except (aiosmtplib.SMTPException, OSError, TimeoutError):
        smtp.close()
