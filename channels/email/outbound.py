"""``EmailOutbound``: sends outbox messages as mail, with loop protection on automatic ones.

Before a send: an address a bounce marked undeliverable is refused (permanently), and an
automatic mail beyond the per-address hourly or daily cap is refused with the reason, which
the dispatcher turns into a ``notification_failed`` event the agents see. The dispatcher sends
several mails at once: their checks go to the store together (a group commit), one
transaction for the group; a key already counted is admitted for free, so a group retried
after a failure counts nothing twice. SMTP failures map to the channel errors: 4xx, timeouts
and lost connections are transient, 5xx permanent.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from email.message import Message

import aiosmtplib

from channels.base import (
    Capability,
    ChannelKind,
    OutboundMessage,
    PermanentSendError,
    SendReceipt,
    StoredFile,
    TransientSendError,
)
from channels.email.render import (
    HeaderInjectionError,
    Identity,
    OutgoingFile,
    omitted_files_note,
    render_email,
)
from channels.email.settings import EmailSettings
from channels.email.smtp import SmtpPool
from channels.email.store import EmailStore
from ticketing.group_commit import GroupCommit

__all__ = ["EmailOutbound"]

log = logging.getLogger(__name__)

FileLoader = Callable[[StoredFile], Awaitable[bytes]]
# A success is written down at most this often: one row update per sent mail would cost an
# SQLite write each; failures are always recorded.
_RECORD_SUCCESS_EVERY = timedelta(seconds=30)


class EmailOutbound:
    """The SMTP side of the e-mail channel."""

    kind = ChannelKind.EMAIL
    capabilities = (
        Capability.PUSH
        | Capability.HTML
        | Capability.SUBJECT
        | Capability.ATTACHMENTS
        | Capability.THREADING
    )

    def __init__(
        self,
        settings: EmailSettings,
        *,
        store: EmailStore,
        now: Callable[[], datetime],
        load_file: FileLoader | None = None,
        pool: SmtpPool | None = None,
    ) -> None:
        self._settings = settings
        self._store = store
        self._now = now
        self._load_file = load_file
        self._pool = pool or SmtpPool(settings.smtp)
        self._recorded_ok: datetime | None = None
        # Concurrent sends' checks go to the store together: one transaction per group.
        self._admissions: GroupCommit[tuple[str, str, bool], str | None] = GroupCommit(self._admit)
        self._identity = Identity(
            address=settings.address,
            display_name=settings.display_name,
            id_domain=settings.id_domain,
        )

    async def _admit(self, requests: Sequence[tuple[str, str, bool]]) -> list[str | None]:
        return await self._store.admit_sends(
            requests,
            now=self._now(),
            per_hour=self._settings.auto_replies_per_hour,
            per_day=self._settings.auto_replies_per_day,
        )

    async def send(self, message: OutboundMessage) -> SendReceipt:
        """Send ``message``; the receipt's id is our Message-ID (replies thread by it).

        Raises:
            TransientSendError: the server is away or said 4xx.
            PermanentSendError: bad address, undeliverable, capped, or the server said 5xx.
        """
        address = message.recipient.address
        refusal = await self._admissions.submit(
            (address, message.idempotency_key, message.automatic)
        )
        if refusal is not None:
            raise PermanentSendError(f"{refusal}; not sending")
        files, omitted = await self._attachments(message)
        if omitted:
            link = message.meta.get("status_url")
            text, markup = omitted_files_note(omitted, link if isinstance(link, str) else None)
            message = dataclasses.replace(
                message,
                text=f"{message.text}\n\n{text}",
                html=f"{message.html}\n{markup}" if message.html else None,
            )
        try:
            mail = render_email(message, identity=self._identity, now=self._now(), files=files)
        except HeaderInjectionError as exc:
            raise PermanentSendError(str(exc)) from exc
        await self._deliver(mail, address)
        return SendReceipt(external_id=str(mail["Message-ID"]))

    async def _attachments(self, message: OutboundMessage) -> tuple[list[OutgoingFile], list[str]]:
        """The files that fit the size budget, in order, and the names of those left out.

        A file that does not fit (or is gone from the store) is named in the mail instead,
        so the reply still goes: a 5xx for an oversized mail would lose the text as well.
        """
        budget = self._settings.max_outgoing_attachment_bytes
        files: list[OutgoingFile] = []
        omitted: list[str] = []
        for stored in message.files:
            if self._load_file is None or stored.size > budget:
                omitted.append(stored.filename)
                continue
            try:
                content = await self._load_file(stored)
            except FileNotFoundError:
                log.warning("attachment missing from the store", extra={"sha256": stored.sha256})
                omitted.append(stored.filename)
                continue
            budget -= len(content)
            files.append(
                OutgoingFile(
                    filename=stored.filename, content_type=stored.content_type, content=content
                )
            )
        return files, omitted

    async def _deliver(self, mail: Message, address: str) -> None:
        try:
            await self._pool.send(mail, self._settings.address, [address])
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [error.code for error in exc.recipients]
            await self._record(ok=True, error=None)
            if all(code >= 500 for code in codes):
                raise PermanentSendError(f"recipient refused: {exc}") from exc
            raise TransientSendError(f"recipient deferred: {exc}") from exc
        except aiosmtplib.SMTPResponseException as exc:
            await self._record(ok=False, error=f"{exc.code} {exc.message}")
            if exc.code >= 500 and not isinstance(exc, aiosmtplib.SMTPAuthenticationError):
                raise PermanentSendError(f"SMTP {exc.code}: {exc.message}") from exc
            raise TransientSendError(f"SMTP {exc.code}: {exc.message}", retry_after=60) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            await self._record(ok=False, error=f"{type(exc).__name__}: {exc}")
            raise TransientSendError(f"SMTP unavailable: {exc!r}") from exc
        await self._record(ok=True, error=None)

    async def _record(self, *, ok: bool, error: str | None) -> None:
        now = self._now()
        if (
            ok
            and self._recorded_ok is not None
            and now - self._recorded_ok < _RECORD_SUCCESS_EVERY
        ):
            return
        self._recorded_ok = now if ok else None
        try:
            await self._store.record_connection("smtp", ok=ok, error=error, now=now)
        except Exception:  # bookkeeping must not turn a sent mail into a failure
            log.warning("could not record the SMTP connection state", exc_info=True)

    async def close(self) -> None:
        """Close pooled connections."""
        await self._pool.close()
