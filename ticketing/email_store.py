"""The e-mail channel's state on the ticket database (``channels.email.store.EmailStore``).

Each method is its own short transaction through :class:`Database`, so SQLite's single-writer
lock is respected. Upserts use each dialect's ``ON CONFLICT``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, case, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ticketing.db import Database
from ticketing.models import utcnow
from ticketing.rows_email import (
    AutoReplyRow,
    ConnectionStateRow,
    MailboxStateRow,
    QuarantineRow,
    UndeliverableRow,
)

__all__ = ["ConnectionRecord", "QuarantineRecord", "SqlEmailStore"]

_AUTO_REPLY = cast("Table", AutoReplyRow.__table__)
_UNDELIVERABLE = UndeliverableRow.__table__
# Cached statements with expanding IN lists: one compiled form whatever the group's size.
_MARKED = select(_UNDELIVERABLE.c.address).where(
    _UNDELIVERABLE.c.address.in_(bindparam("addresses", expanding=True))
)
_SEEN = select(_AUTO_REPLY.c.idempotency_key).where(
    _AUTO_REPLY.c.idempotency_key.in_(bindparam("keys", expanding=True))
)
_COUNTS = (
    select(
        _AUTO_REPLY.c.address,
        func.count(case((_AUTO_REPLY.c.sent_at > bindparam("hour_ago"), 1))),
        func.count(),
    )
    .where(
        _AUTO_REPLY.c.address.in_(bindparam("auto", expanding=True)),
        _AUTO_REPLY.c.sent_at > bindparam("day_ago"),
    )
    .group_by(_AUTO_REPLY.c.address)
)

# How long the in-memory copy of the undeliverable addresses is trusted (see
# SqlEmailStore.clear_undeliverable); another process may mark one meanwhile.
UNDELIVERABLE_CACHE_SECONDS = 30.0


@dataclass(frozen=True, slots=True, kw_only=True)
class QuarantineRecord:
    id: int
    mailbox: str
    raw: bytes
    error: str
    state: str
    received_at: datetime
    message_id: str | None = None
    attempts: int = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionRecord:
    last_attempt_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None


class SqlEmailStore:
    """Mailbox progress, quarantine, undeliverable addresses, auto-reply caps, check status."""

    def __init__(
        self, db: Database, *, undeliverable_cache_seconds: float = UNDELIVERABLE_CACHE_SECONDS
    ) -> None:
        self._db = db
        self._cache_seconds = undeliverable_cache_seconds
        self._undeliverable: set[str] | None = None
        self._undeliverable_read_at = 0.0
        # Mail is ingested 50 at a time: one re-read of the list serves them all.
        self._undeliverable_reading = asyncio.Lock()

    def _insert(self) -> Any:
        return pg_insert if self._db.dialect == "postgresql" else sqlite_insert

    async def mailbox_progress(self, mailbox: str) -> tuple[int, int] | None:
        async with self._db.read() as session:
            row = await session.get(MailboxStateRow, mailbox)
            return None if row is None else (row.uidvalidity, row.last_uid)

    async def save_progress(self, mailbox: str, uidvalidity: int, last_uid: int) -> None:
        values = {"uidvalidity": uidvalidity, "last_uid": last_uid, "updated_at": utcnow()}
        async with self._db.transaction() as session:
            stmt = self._insert()(MailboxStateRow).values(mailbox=mailbox, **values)
            await session.execute(
                stmt.on_conflict_do_update(index_elements=["mailbox"], set_=values)
            )

    async def quarantine(
        self,
        *,
        mailbox: str,
        uid: int | None,
        message_id: str | None,
        raw: bytes,
        error: str,
        now: datetime,
    ) -> int:
        async with self._db.transaction() as session:
            row = QuarantineRow(
                mailbox=mailbox,
                uid=uid,
                message_id=(message_id or "")[:255] or None,
                raw=raw,
                error=error[:4000],
                state="held",
                attempts=1,
                received_at=now,
            )
            session.add(row)
            await session.flush()
            return row.id

    async def replays_due(self, limit: int) -> Sequence[QuarantineRecord]:
        async with self._db.read() as session:
            rows = await session.scalars(
                select(QuarantineRow)
                .where(QuarantineRow.state == "replay")
                .order_by(QuarantineRow.id)
                .limit(limit)
            )
            return [_record(row) for row in rows]

    async def settle_replay(self, quarantine_id: int, error: str | None, now: datetime) -> None:
        values: dict[str, Any] = {"replayed_at": now, "attempts": QuarantineRow.attempts + 1}
        if error is None:
            values["state"] = "replayed"
        else:
            values |= {"state": "held", "error": error[:4000]}
        async with self._db.transaction() as session:
            await session.execute(
                update(QuarantineRow).where(QuarantineRow.id == quarantine_id).values(**values)
            )

    async def request_replay(self, ids: Sequence[int] | None = None) -> list[int]:
        """Mark held mail for replay (``okno replay``); all of it when ``ids`` is empty."""
        stmt = (
            update(QuarantineRow)
            .where(QuarantineRow.state == "held")
            .values(state="replay")
            .returning(QuarantineRow.id)
        )
        if ids:
            stmt = stmt.where(QuarantineRow.id.in_(ids))
        async with self._db.transaction() as session:
            return list((await session.execute(stmt)).scalars().all())

    async def held(self, limit: int = 100) -> Sequence[QuarantineRecord]:
        """Quarantined mail not yet replayed, oldest first."""
        async with self._db.read() as session:
            rows = await session.scalars(
                select(QuarantineRow)
                .where(QuarantineRow.state != "replayed")
                .order_by(QuarantineRow.id)
                .limit(limit)
            )
            return [_record(row) for row in rows]

    async def mark_undeliverable(self, address: str, reason: str, now: datetime) -> None:
        values = {"reason": reason[:2000], "marked_at": now}
        async with self._db.transaction() as session:
            stmt = self._insert()(UndeliverableRow).values(address=address.lower(), **values)
            await session.execute(
                stmt.on_conflict_do_update(index_elements=["address"], set_=values)
            )
        if self._undeliverable is not None:
            self._undeliverable.add(address.lower())

    async def clear_undeliverable(self, address: str) -> None:
        """A person wrote from ``address``: it is reachable again.

        Called for every person's mail, and almost never with a marked address: the check
        runs against an in-memory copy of the (short) list, re-read every
        ``undeliverable_cache_seconds``, instead of a query per mail. A mark made by another
        process meanwhile is cleared by the sender's next mail after the re-read.
        """
        address = address.lower()
        if address not in await self._known_undeliverable():
            return
        async with self._db.transaction() as session:
            await session.execute(
                delete(UndeliverableRow).where(UndeliverableRow.address == address)
            )
        if self._undeliverable is not None:
            self._undeliverable.discard(address)

    async def _known_undeliverable(self) -> set[str]:
        async with self._undeliverable_reading:
            age = time.monotonic() - self._undeliverable_read_at
            if self._undeliverable is None or age > self._cache_seconds:
                async with self._db.read() as session:
                    found = set(await session.scalars(select(UndeliverableRow.address)))
                self._undeliverable, self._undeliverable_read_at = found, time.monotonic()
            return self._undeliverable

    async def is_undeliverable(self, address: str) -> bool:
        async with self._db.read() as session:
            return await session.get(UndeliverableRow, address.lower()) is not None

    async def admit_sends(
        self,
        requests: Sequence[tuple[str, str, bool]],
        *,
        now: datetime,
        per_hour: int,
        per_day: int,
    ) -> list[str | None]:
        """Loop protection for a group of mails (``channels.email.store.EmailStore``).

        Three reads and at most one multi-row insert for the whole group, in one write
        transaction when any mail is automatic (the counts and the new rows must not
        interleave with another sender's), else in a read.
        """
        wanted = [(address.lower(), key[:200], automatic) for address, key, automatic in requests]
        addresses = sorted({address for address, _, _ in wanted})
        automatic = [(address, key) for address, key, is_auto in wanted if is_auto]
        if not automatic:
            async with self._db.read() as session:
                marked = set(await session.scalars(_MARKED, {"addresses": addresses}))
            return [
                _undeliverable(address) if address in marked else None for address, _, _ in wanted
            ]
        async with self._db.transaction() as session:
            marked = set(await session.scalars(_MARKED, {"addresses": addresses}))
            seen = set(await session.scalars(_SEEN, {"keys": sorted({k for _, k in automatic})}))
            counts = {
                address: [hour, day]
                for address, hour, day in await session.execute(
                    _COUNTS,
                    {
                        "auto": sorted({address for address, _ in automatic}),
                        "hour_ago": now - timedelta(hours=1),
                        "day_ago": now - timedelta(days=1),
                    },
                )
            }
            refusals, new_rows = _admit(
                wanted, marked, seen, counts, per_hour=per_hour, per_day=per_day
            )
            if new_rows:
                await session.execute(
                    insert(_AUTO_REPLY),
                    [{"address": a, "idempotency_key": k, "sent_at": now} for a, k in new_rows],
                )
        return refusals

    async def record_connection(
        self, name: str, *, ok: bool, error: str | None, now: datetime
    ) -> None:
        values: dict[str, Any] = {"last_attempt_at": now, "last_error": None if ok else error}
        if ok:
            values["last_success_at"] = now
        async with self._db.transaction() as session:
            stmt = self._insert()(ConnectionStateRow).values(name=name, **values)
            await session.execute(stmt.on_conflict_do_update(index_elements=["name"], set_=values))

    async def connection_state(self, name: str) -> ConnectionRecord | None:
        async with self._db.read() as session:
            row = await session.get(ConnectionStateRow, name)
            if row is None:
                return None
            return ConnectionRecord(
                last_attempt_at=row.last_attempt_at,
                last_success_at=row.last_success_at,
                last_error=row.last_error,
            )


def _admit(
    wanted: Sequence[tuple[str, str, bool]],
    marked: set[str],
    seen: set[str],
    counts: dict[str, list[int]],
    *,
    per_hour: int,
    per_day: int,
) -> tuple[list[str | None], list[tuple[str, str]]]:
    """Each request's refusal (or None) in order, and the ``(address, key)`` rows to count.

    Admitted automatic mail counts toward the caps of the requests after it.
    """
    refusals: list[str | None] = []
    new_rows: list[tuple[str, str]] = []
    for address, key, automatic in wanted:
        refusal = _undeliverable(address) if address in marked else None
        if refusal is None and automatic and key not in seen:
            hour, day = counts.setdefault(address, [0, 0])
            if hour >= per_hour or day >= per_day:
                refusal = (
                    f"auto-reply cap reached for {address} ({per_hour}/hour, {per_day}/day): "
                    "loop protection"
                )
            else:
                seen.add(key)
                counts[address] = [hour + 1, day + 1]
                new_rows.append((address, key))
        refusals.append(refusal)
    return refusals, new_rows


def _undeliverable(address: str) -> str:
    return f"{address} is marked undeliverable after a bounce"


def _record(row: QuarantineRow) -> QuarantineRecord:
    return QuarantineRecord(
        id=row.id,
        mailbox=row.mailbox,
        raw=row.raw,
        error=row.error,
        state=row.state,
        received_at=row.received_at,
        message_id=row.message_id,
        attempts=row.attempts,
    )
