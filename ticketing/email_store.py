"""The e-mail channel's state on the ticket database (``channels.email.store.EmailStore``).

Each method is its own short transaction through :class:`Database`, so SQLite's single-writer
lock is respected. Upserts use each dialect's ``ON CONFLICT``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
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


@dataclass(frozen=True, slots=True, kw_only=True)
class QuarantineRecord:
    id: int
    mailbox: str
    raw: bytes
    error: str
    state: str
    received_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionRecord:
    last_attempt_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None


class SqlEmailStore:
    """Mailbox progress, quarantine, undeliverable addresses, auto-reply caps, check status."""

    def __init__(self, db: Database) -> None:
        self._db = db

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

    async def clear_undeliverable(self, address: str) -> None:
        if not await self.is_undeliverable(address):
            return  # the common case stays a read, off SQLite's write lock
        async with self._db.transaction() as session:
            await session.execute(
                delete(UndeliverableRow).where(UndeliverableRow.address == address.lower())
            )

    async def is_undeliverable(self, address: str) -> bool:
        async with self._db.read() as session:
            return await session.get(UndeliverableRow, address.lower()) is not None

    async def admit_send(
        self,
        *,
        address: str,
        key: str,
        automatic: bool,
        now: datetime,
        per_hour: int,
        per_day: int,
    ) -> str | None:
        address = address.lower()
        if not automatic:
            if await self.is_undeliverable(address):
                return f"{address} is marked undeliverable after a bounce"
            return None
        async with self._db.transaction() as session:
            if await session.get(UndeliverableRow, address) is not None:
                return f"{address} is marked undeliverable after a bounce"
            seen = await session.scalar(
                select(AutoReplyRow.id).where(AutoReplyRow.idempotency_key == key[:200])
            )
            if seen is not None:
                return None
            counts = select(
                func.count().filter(AutoReplyRow.sent_at > now - timedelta(hours=1)),
                func.count(),
            ).where(
                AutoReplyRow.address == address, AutoReplyRow.sent_at > now - timedelta(days=1)
            )
            hour, day = (await session.execute(counts)).one()
            if hour >= per_hour or day >= per_day:
                return (
                    f"auto-reply cap reached for {address} ({per_hour}/hour, {per_day}/day): "
                    "loop protection"
                )
            session.add(AutoReplyRow(address=address, idempotency_key=key[:200], sent_at=now))
            return None

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


def _record(row: QuarantineRow) -> QuarantineRecord:
    return QuarantineRecord(
        id=row.id,
        mailbox=row.mailbox,
        raw=row.raw,
        error=row.error,
        state=row.state,
        received_at=row.received_at,
    )
