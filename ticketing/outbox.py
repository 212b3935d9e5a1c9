"""The SQL side of the notification outbox, on SQLite and PostgreSQL.

Producers call :func:`add_entries` inside the transaction that changed the ticket. The
dispatcher claims due rows with :meth:`SqlOutboxStore.claim_due`: a claim increments
``attempts`` and hides the row for a lease, so a crashed sender's rows come back later and two
dispatchers never hold the same row at once.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta
from functools import cache
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from ticketing.domain import ChannelKind, OutboxEntry, OutboxItem, ReplyAddress
from ticketing.models import OutboxRow, TicketEventRow

__all__ = ["DEFAULT_LEASE", "SqlOutboxStore", "add_entries"]

DEFAULT_LEASE = timedelta(seconds=60)
_MAX_ERROR_CHARS = 2000


async def add_entries(session: AsyncSession, entries: Sequence[OutboxEntry], now: datetime) -> int:
    """Queue ``entries`` for sending now; an already queued idempotency key is ignored.

    Runs in the caller's transaction and never commits. Returns how many rows were new.

    Raises:
        NotImplementedError: the database is neither SQLite nor PostgreSQL.
    """
    if not entries:
        return 0
    statement = _insert_ignoring_known_keys(session.get_bind().dialect.name)
    rows = [
        {
            "idempotency_key": entry.idempotency_key,
            "ticket_id": entry.ticket_id,
            "channel": entry.recipient.channel.value,
            "address": entry.recipient.address,
            "thread_hint": entry.recipient.thread_hint,
            "template": entry.template,
            "locale": entry.locale,
            "timezone": entry.timezone,
            "payload": entry.payload,
            "state": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for entry in entries
    ]
    # One cached statement with a parameter list: SQLAlchemy's "insertmanyvalues" sends it as
    # batched multi-row INSERTs without compiling SQL per call (a values(rows) statement is
    # compiled anew for every batch size, which cost ~8 % of the router's CPU). RETURNING
    # yields only the rows that were new, so the count stays exact on both backends.
    result = await session.execute(statement, rows)
    return len(result.all())


_OUTBOX = OutboxRow.__table__
# One cached Core statement run with a parameter list (executemany): marking a batch of sent
# rows is one round trip and one commit, not an ORM update and a transaction per row.
_MARK_SENT = (
    update(cast("Table", _OUTBOX))
    .where(_OUTBOX.c.id == bindparam("outbox_id"), _OUTBOX.c.state == "pending")
    .values(state="sent", external_id=bindparam("receipt"), sent_at=bindparam("at"))
)


@cache
def _insert_ignoring_known_keys(dialect: str) -> Any:
    """``INSERT … ON CONFLICT (idempotency_key) DO NOTHING RETURNING id`` for ``dialect``.

    Raises:
        NotImplementedError: the database is neither SQLite nor PostgreSQL.
    """
    if dialect == "postgresql":
        insert: Any = postgresql.insert
    elif dialect == "sqlite":
        insert = sqlite.insert
    else:
        msg = f"outbox insert is not implemented for {dialect}"
        raise NotImplementedError(msg)
    return (
        insert(_OUTBOX)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(_OUTBOX.c.id)
    )


class SqlOutboxStore:
    """Claims and settles outbox rows; each method is its own short transaction.

    Args:
        transaction: opens a write transaction on the ticket database; in okno
            ``Database.transaction``, so on SQLite these writes queue behind the others in
            the process instead of committing between another transaction's read and write
            (which fails that transaction, see ticketing.db).
        lease: how long a claimed row stays hidden from other claims.
    """

    def __init__(
        self,
        transaction: Callable[[], AbstractAsyncContextManager[AsyncSession]],
        *,
        lease: timedelta = DEFAULT_LEASE,
    ) -> None:
        self._transaction = transaction
        self._lease = lease

    async def claim_due(
        self, now: datetime, limit: int, channels: Collection[ChannelKind]
    ) -> list[OutboxItem]:
        """Take up to ``limit`` pending rows due by ``now`` for ``channels``, oldest due first.

        Each claimed row has ``attempts`` incremented (the returned value counts this attempt)
        and ``next_attempt_at`` pushed to ``now + lease``.
        """
        if not channels or limit < 1:
            return []
        due = (
            select(OutboxRow.id)
            .where(
                OutboxRow.state == "pending",
                OutboxRow.next_attempt_at <= now,
                OutboxRow.channel.in_([kind.value for kind in channels]),
            )
            .order_by(OutboxRow.next_attempt_at, OutboxRow.id)
            .limit(limit)
        )
        claim = update(OutboxRow).values(
            attempts=OutboxRow.attempts + 1, next_attempt_at=now + self._lease
        )
        async with self._transaction() as session:
            if session.get_bind().dialect.name == "postgresql":
                # Rows another dispatcher holds are skipped, not waited for; the lock lasts
                # until this transaction commits the lease.
                ids = list(await session.scalars(due.with_for_update(skip_locked=True)))
                if not ids:
                    return []
                claim = claim.where(OutboxRow.id.in_(ids))
            else:
                # SQLite has one writer at a time, and an UPDATE that picks its own rows starts
                # as a write: the pick and the lease happen under the same lock.
                claim = claim.where(OutboxRow.id.in_(due))
            rows = list(
                await session.scalars(
                    claim.returning(OutboxRow), execution_options={"synchronize_session": False}
                )
            )
        return [_item(row) for row in sorted(rows, key=lambda row: row.id)]

    async def mark_sent(self, outbox_id: int, external_id: str | None, now: datetime) -> None:
        """Record a successful send; the row is never claimed again."""
        await self.mark_sent_many([(outbox_id, external_id)], now)

    async def mark_sent_many(self, sent: Sequence[tuple[int, str | None]], now: datetime) -> None:
        """Record successful sends, ``(outbox_id, external_id)`` each, in one transaction."""
        if not sent:
            return
        rows = [
            {"outbox_id": outbox_id, "receipt": external_id, "at": now}
            for outbox_id, external_id in sent
        ]
        async with self._transaction() as session:
            await session.execute(_MARK_SENT, rows)

    async def mark_retry(
        self, outbox_id: int, error: str, next_attempt_at: datetime, *, counted: bool = True
    ) -> None:
        """Keep the row pending and due again at ``next_attempt_at``; ``counted=False`` gives
        back the attempt the claim counted (the channel only asked to wait)."""
        values: dict[str, Any] = {
            "last_error": error[:_MAX_ERROR_CHARS],
            "next_attempt_at": next_attempt_at,
        }
        if not counted:
            values["attempts"] = OutboxRow.attempts - 1
        async with self._transaction() as session:
            await session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == outbox_id, OutboxRow.state == "pending")
                .values(**values)
            )

    async def mark_failed(self, outbox_id: int, error: str, now: datetime) -> None:
        """Give up on the row and tell the agents with a ``notification_failed`` event."""
        error = error[:_MAX_ERROR_CHARS]
        async with self._transaction() as session:
            row = await session.scalar(
                update(OutboxRow)
                .where(OutboxRow.id == outbox_id, OutboxRow.state == "pending")
                .values(state="failed", last_error=error)
                .returning(OutboxRow),
                execution_options={"synchronize_session": False},
            )
            if row is None or row.ticket_id is None:
                return
            session.add(
                TicketEventRow(
                    ticket_id=row.ticket_id,
                    kind="notification_failed",
                    actor="system",
                    data={
                        "outbox_id": row.id,
                        "template": row.template,
                        "channel": row.channel,
                        "address": row.address,
                        "attempts": row.attempts,
                        "error": error,
                    },
                    created_at=now,
                )
            )


def _item(row: OutboxRow) -> OutboxItem:
    return OutboxItem(
        id=row.id,
        attempts=row.attempts,
        entry=OutboxEntry(
            idempotency_key=row.idempotency_key,
            ticket_id=row.ticket_id,
            recipient=ReplyAddress(
                channel=ChannelKind(row.channel), address=row.address, thread_hint=row.thread_hint
            ),
            template=row.template,
            locale=row.locale,
            timezone=row.timezone,
            payload=dict(row.payload),
        ),
    )
