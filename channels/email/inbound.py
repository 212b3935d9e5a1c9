"""``EmailInbound``: reads the IMAP folder and hands each mail to the intake.

Progress is by UID within one UIDVALIDITY; a message is flagged, moved or deleted only after
the intake committed it (or the quarantine kept it), and the UID progress is saved after that.
A crash anywhere therefore re-reads at most one batch, and the inbox's unique Message-ID turns
the re-read into a no-op. The connection is re-opened with exponential backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from channels.base import IntakeSink, OutboundMessage
from channels.email.imap import ImapSession
from channels.email.processing import MailIntake
from channels.email.settings import EmailSettings
from channels.email.store import EmailStore

__all__ = ["EmailInbound"]

log = logging.getLogger(__name__)

Rejecter = Callable[[OutboundMessage], Awaitable[object]]


class EmailInbound:
    """The IMAP side of the e-mail channel (``PollingInbound``)."""

    def __init__(
        self,
        settings: EmailSettings,
        *,
        store: EmailStore,
        now: Callable[[], datetime],
        max_attachment_bytes: int,
        reject: Rejecter | None = None,
    ) -> None:
        self._settings = settings
        self._store = store
        self._now = now
        self._mail = MailIntake(
            settings,
            store=store,
            now=now,
            max_attachment_bytes=max_attachment_bytes,
            reject=reject,
        )

    async def run(self, sink: IntakeSink, stop: asyncio.Event | None = None) -> None:
        """Read the mailbox until ``stop`` is set, reconnecting with backoff after failures."""
        stop = stop or asyncio.Event()
        delay = 1.0
        while not stop.is_set():
            session = ImapSession(self._settings.imap)
            try:
                await session.open()
                await self._record(ok=True, error=None)
                delay = 1.0
                await self._serve(session, sink, stop)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning(
                    "IMAP session failed; reconnecting",
                    extra={"error": repr(exc), "retry_in": delay},
                )
                await self._record(ok=False, error=f"{type(exc).__name__}: {exc}")
                await _sleep(delay, stop)
                delay = min(delay * 2, self._settings.imap.backoff_max_seconds)
            finally:
                await session.close()

    async def _serve(self, session: ImapSession, sink: IntakeSink, stop: asyncio.Event) -> None:
        mailbox = self._settings.imap.mailbox
        progress = await self._store.mailbox_progress(mailbox)
        last = progress[1] if progress and progress[0] == session.uidvalidity else None
        if progress and last is None:
            log.warning(
                "UIDVALIDITY changed: reading unseen mail again", extra={"mailbox": mailbox}
            )
        while not stop.is_set():
            await self._mail.replay_quarantined(sink)
            uids = await session.search(last)
            if not uids:
                await session.wait(self._wait_seconds(session), stop)
                continue
            for start in range(0, len(uids), self._settings.imap.batch_size):
                batch = uids[start : start + self._settings.imap.batch_size]
                await self._mail.process_batch(session, batch, sink)
                last = max(batch)
                await self._store.save_progress(mailbox, session.uidvalidity, last)
                if stop.is_set():
                    return

    def _wait_seconds(self, session: ImapSession) -> float:
        imap = self._settings.imap
        return (
            min(imap.idle_seconds, imap.poll_seconds)
            if session.supports_idle()
            else imap.poll_seconds
        )

    async def _record(self, *, ok: bool, error: str | None) -> None:
        try:
            await self._store.record_connection("imap", ok=ok, error=error, now=self._now())
        except Exception:
            log.warning("could not record the IMAP connection state", exc_info=True)


async def _sleep(seconds: float, stop: asyncio.Event) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
