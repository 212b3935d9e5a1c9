"""What the dispatcher needs from an outbox, and its in-process twin.

:class:`ticketing.outbox.SqlOutboxStore` is the durable implementation; :class:`MemoryOutboxStore`
keeps the same contract in memory for tests and tools (both pass ``tests/notify``'s contract
suite).
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from ticketing.domain import ChannelKind, OutboxEntry, OutboxItem

__all__ = ["MemoryOutboxStore", "OutboxStore", "StoredNotification"]


class OutboxStore(Protocol):
    """Claims due notifications and records how sending them went."""

    async def claim_due(
        self, now: datetime, limit: int, channels: Collection[ChannelKind]
    ) -> list[OutboxItem]:
        """Take up to ``limit`` due items for ``channels``, hiding them from other claims.

        The returned ``attempts`` counts the attempt being started.
        """
        ...

    async def mark_sent(self, outbox_id: int, external_id: str | None, now: datetime) -> None:
        """Record a successful send; the item is never claimed again."""
        ...

    async def mark_sent_many(self, sent: Sequence[tuple[int, str | None]], now: datetime) -> None:
        """:meth:`mark_sent` for every ``(outbox_id, external_id)`` in ``sent``, in one write."""
        ...

    async def mark_retry(
        self, outbox_id: int, error: str, next_attempt_at: datetime, *, counted: bool = True
    ) -> None:
        """Keep the item pending, due again at ``next_attempt_at``.

        ``counted=False``: the channel only asked to wait (a rate limit), so the attempt the
        claim counted is given back; only real failures use up the attempts.
        """
        ...

    async def mark_failed(self, outbox_id: int, error: str, now: datetime) -> None:
        """Give up on the item and record a ``notification_failed`` ticket event."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredNotification:
    """One row of :class:`MemoryOutboxStore`, as the SQL table would hold it."""

    id: int
    entry: OutboxEntry
    state: str = "pending"
    attempts: int = 0
    next_attempt_at: datetime
    last_error: str | None = None
    external_id: str | None = None
    sent_at: datetime | None = None


class MemoryOutboxStore:
    """An outbox in a dict, with the SQL store's claim, lease and failure semantics."""

    def __init__(self, *, lease: timedelta = timedelta(seconds=60)) -> None:
        self._lease = lease
        self._lock = asyncio.Lock()
        self.rows: dict[int, StoredNotification] = {}
        #: ``(ticket_id, kind, data)`` of the ticket events mark_failed would write.
        self.events: list[tuple[int, str, dict[str, Any]]] = []

    async def add_entries(self, entries: Sequence[OutboxEntry], now: datetime) -> int:
        """Queue ``entries`` as ``ticketing.outbox.add_entries`` does; returns the new count."""
        known = {row.entry.idempotency_key for row in self.rows.values()}
        added = 0
        for entry in entries:
            if entry.idempotency_key in known:
                continue
            known.add(entry.idempotency_key)
            row_id = len(self.rows) + 1
            self.rows[row_id] = StoredNotification(id=row_id, entry=entry, next_attempt_at=now)
            added += 1
        return added

    async def claim_due(
        self, now: datetime, limit: int, channels: Collection[ChannelKind]
    ) -> list[OutboxItem]:
        """See :meth:`OutboxStore.claim_due`."""
        async with self._lock:
            due = sorted(
                (
                    row
                    for row in self.rows.values()
                    if row.state == "pending"
                    and row.next_attempt_at <= now
                    and row.entry.recipient.channel in channels
                ),
                key=lambda row: (row.next_attempt_at, row.id),
            )[: max(limit, 0)]
            claimed = [
                replace(row, attempts=row.attempts + 1, next_attempt_at=now + self._lease)
                for row in due
            ]
            self.rows.update((row.id, row) for row in claimed)
        return [OutboxItem(id=row.id, entry=row.entry, attempts=row.attempts) for row in claimed]

    async def mark_sent(self, outbox_id: int, external_id: str | None, now: datetime) -> None:
        """See :meth:`OutboxStore.mark_sent`."""
        self._settle(outbox_id, state="sent", external_id=external_id, sent_at=now)

    async def mark_sent_many(self, sent: Sequence[tuple[int, str | None]], now: datetime) -> None:
        """See :meth:`OutboxStore.mark_sent_many`."""
        for outbox_id, external_id in sent:
            self._settle(outbox_id, state="sent", external_id=external_id, sent_at=now)

    async def mark_retry(
        self, outbox_id: int, error: str, next_attempt_at: datetime, *, counted: bool = True
    ) -> None:
        """See :meth:`OutboxStore.mark_retry`."""
        row = self.rows.get(outbox_id)
        given_back = 0 if counted or row is None else 1
        attempts = max((row.attempts if row else 0) - given_back, 0)
        self._settle(
            outbox_id, last_error=error, next_attempt_at=next_attempt_at, attempts=attempts
        )

    async def mark_failed(self, outbox_id: int, error: str, now: datetime) -> None:
        """See :meth:`OutboxStore.mark_failed`; the event goes to :attr:`events`."""
        row = self._settle(outbox_id, state="failed", last_error=error)
        if row is not None and row.entry.ticket_id is not None:
            data = {
                "outbox_id": row.id,
                "template": row.entry.template,
                "channel": row.entry.recipient.channel.value,
                "address": row.entry.recipient.address,
                "attempts": row.attempts,
                "error": error,
            }
            self.events.append((row.entry.ticket_id, "notification_failed", data))

    def _settle(self, outbox_id: int, **changes: Any) -> StoredNotification | None:
        row = self.rows.get(outbox_id)
        if row is None or row.state != "pending":
            return None
        self.rows[outbox_id] = row = replace(row, **changes)
        return row
