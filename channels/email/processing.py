"""One batch of fetched mail through the intake: parse, accept, quarantine, reject, acknowledge.

Each message has its own time limit and its own failure: one that cannot be processed is kept
raw in the quarantine and the rest of the batch goes on. Only when even the quarantine fails
(the database is away) does the batch stay unacknowledged, to be read again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from channels.base import ChannelKind, IntakeSink, OutboundMessage, ReplyAddress
from channels.email.headers import address_list, header_text
from channels.email.imap import ImapSession
from channels.email.loop import detect_auto_generated
from channels.email.normalize import Limits, external_id_of, normalize_email, parse_bytes
from channels.email.settings import EmailSettings
from channels.email.store import EmailStore

__all__ = ["MailIntake"]

log = logging.getLogger(__name__)

_THREAD_ABOVE = 256 * 1024  # bigger mail is parsed off the event loop
# Messages in flight at once: the intake answers after routing, and the router works in
# batches, so many in flight keep it busy. Fetches are cut at _FETCH_BYTES to bound memory.
_CONCURRENCY = 50
_FETCH_BYTES = 32 * 1024 * 1024
_REJECTION = (
    "Здравствуйте!\n\nВаше письмо «{subject}» ({size} МБ) больше допустимого размера "
    "({limit} МБ) и не было принято. Пожалуйста, уменьшите вложения или отправьте ссылку "
    "на файлы.\n\n---\n\nHello,\n\nyour message “{subject}” ({size} MB) is larger than "
    "we can accept ({limit} MB) and was not received. Please send smaller attachments or a "
    "link to the files.\n\nService Desk"
)


class MailIntake:
    """Turns fetched mail into intake calls and keeps what fails."""

    def __init__(
        self,
        settings: EmailSettings,
        *,
        store: EmailStore,
        now: Callable[[], datetime],
        max_attachment_bytes: int,
        reject: Callable[[OutboundMessage], Awaitable[object]] | None,
    ) -> None:
        self._settings = settings
        self._store = store
        self._now = now
        self._reject = reject
        self._limits = Limits(
            max_attachments=settings.max_attachments,
            max_attachment_bytes=min(
                settings.max_attachment_bytes or max_attachment_bytes, max_attachment_bytes
            ),
            own_domain=settings.id_domain,
            own_address=settings.address,
        )
        self._slots = asyncio.Semaphore(_CONCURRENCY)

    async def process_batch(
        self, session: ImapSession, uids: Sequence[int], sink: IntakeSink
    ) -> None:
        """Store (or quarantine, or refuse) every message, then acknowledge them in the box."""
        sizes = await session.sizes(uids)
        limit = self._settings.max_message_bytes
        big = [u for u in uids if sizes.get(u, 0) > limit]
        normal = [u for u in uids if u not in big]
        for group_uids in _by_size(normal, sizes):
            raws = await session.fetch(group_uids)
            async with asyncio.TaskGroup() as group:
                for uid, raw in raws.items():
                    group.create_task(self._guarded(uid, raw, sink))
        headers = await session.fetch(big, "BODY.PEEK[HEADER]") if big else {}
        for uid, head in headers.items():
            await self._refuse(head, sizes[uid])
        # Messages that vanished meanwhile (another client expunged them) count as done too.
        await session.acknowledge(list(uids))

    async def _guarded(self, uid: int | None, raw: bytes, sink: IntakeSink) -> None:
        async with self._slots:
            error = await self.ingest(raw, sink)
        if error is not None:
            message_id = external_id_of(parse_bytes(raw[:65536]), raw)
            quarantine_id = await self._store.quarantine(
                mailbox=self._settings.imap.mailbox,
                uid=uid,
                message_id=message_id,
                raw=raw,
                error=error,
                now=self._now(),
            )
            log.warning(
                "mail quarantined",
                extra={"uid": uid, "quarantine_id": quarantine_id, "error": error},
            )

    async def ingest(self, raw: bytes, sink: IntakeSink) -> str | None:
        """Parse and accept one mail; the error text when it must go to the quarantine."""
        try:
            async with asyncio.timeout(self._settings.message_timeout_seconds):
                if len(raw) > _THREAD_ABOVE:
                    message = await asyncio.to_thread(
                        normalize_email, raw, limits=self._limits, received_at=self._now()
                    )
                else:
                    message = normalize_email(raw, limits=self._limits, received_at=self._now())
                await sink(message)
        except asyncio.CancelledError:
            raise
        except TimeoutError:
            return f"not processed within {self._settings.message_timeout_seconds:.0f}s"
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"
        await self._reachability(message.auto_generated, message.meta, message.sender.email)
        return None

    async def _reachability(
        self, auto: str | None, meta: dict[str, object], sender: str | None
    ) -> None:
        bounced = meta.get("bounced")
        if auto == "bounce" and isinstance(bounced, list):
            for address in bounced:
                await self._store.mark_undeliverable(str(address), "bounce", self._now())
        elif auto is None and sender:
            await self._store.clear_undeliverable(sender)

    async def replay_quarantined(self, sink: IntakeSink) -> None:
        """Process mail that ``okno replay`` put back; a failure is recorded and kept."""
        for mail in await self._store.replays_due(limit=20):
            error = await self.ingest(mail.raw, sink)
            await self._store.settle_replay(mail.id, error, self._now())
            log.info("quarantined mail replayed", extra={"quarantine_id": mail.id, "error": error})

    async def _refuse(self, head: bytes, size: int) -> None:
        """A polite "too large" answer; no ticket. Best effort: the mailbox must move on."""
        message = parse_bytes(head)
        senders = address_list(message, "Reply-To") or address_list(message, "From")
        if not senders:
            return
        address = senders[0][1]
        auto = detect_auto_generated(
            message,
            sender=address,
            own_domain=self._limits.own_domain,
            own_address=self._limits.own_address,
        )
        log.warning("oversized mail refused", extra={"from": address, "bytes": size, "auto": auto})
        if auto is not None or self._reject is None:
            return
        message_id = external_id_of(message, head)
        subject = header_text(message, "Subject")[:200]
        reply = OutboundMessage(
            idempotency_key=f"email-reject:{message_id}",
            recipient=ReplyAddress(
                channel=ChannelKind.EMAIL, address=address, thread_hint=message_id
            ),
            subject=f"Re: {subject}" if subject else "Письмо не принято / Message not accepted",
            text=_REJECTION.format(
                subject=subject,
                size=round(size / 1048576, 1),
                limit=round(self._settings.max_message_bytes / 1048576, 1),
            ),
            automatic=True,
        )
        try:
            await self._reject(reply)
        except Exception:
            log.warning("could not send the oversized-mail rejection", exc_info=True)


def _by_size(uids: Sequence[int], sizes: dict[int, int]) -> list[list[int]]:
    """``uids`` in order, cut into groups of at most :data:`_FETCH_BYTES` (one big one alone)."""
    groups: list[list[int]] = []
    total = _FETCH_BYTES + 1
    for uid in uids:
        size = sizes.get(uid, 0)
        if total + size > _FETCH_BYTES:
            groups.append([])
            total = 0
        groups[-1].append(uid)
        total += size
    return groups
