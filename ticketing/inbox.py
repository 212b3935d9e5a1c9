"""The durable inbox: every inbound message is stored here before its source is acknowledged.

A unique (channel, external_id) is the truth about redelivery: storing the same pair twice
returns the first row, and once the router has processed it, the stored result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from ticketing.domain import IntakeOutcome, IntakeResult
from ticketing.models import InboundMessageRow

# The tables, for Core statements on the hot path.
_INBOX = cast("Table", InboundMessageRow.__table__)


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredInbound:
    id: int
    created: bool
    result: IntakeResult | None


def result_of(row: InboundMessageRow) -> IntakeResult | None:
    if row.state != "done" or row.outcome is None:
        return None
    return IntakeResult(
        outcome=IntakeOutcome(row.outcome),
        ticket_number=row.ticket_id,
        reason=row.reason,
    )


async def store(
    session: AsyncSession,
    *,
    channel: str,
    external_id: str,
    payload: dict[str, Any],
    now: datetime,
) -> StoredInbound:
    """Insert the message unless (channel, external_id) exists; return its row id and state."""
    item = NewInbound(channel=channel, external_id=external_id, payload=payload)
    [stored] = await store_many(session, [item], now)
    return stored


@dataclass(frozen=True, slots=True, kw_only=True)
class NewInbound:
    channel: str
    external_id: str
    payload: dict[str, Any]


async def store_many(
    session: AsyncSession, items: Sequence[NewInbound], now: datetime
) -> list[StoredInbound]:
    """:func:`store` for many messages in one statement (group commit); answers in order.

    A pair repeated within ``items`` is stored once; its later copies answer ``created=False``.
    """
    table = _INBOX
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = (
        insert(table)
        .on_conflict_do_nothing(index_elements=["channel", "external_id"])
        .returning(table.c.id, table.c.channel, table.c.external_id)
    )
    params = [
        {
            "channel": item.channel,
            "external_id": item.external_id,
            "payload": item.payload,
            "state": "pending",
            "attempts": 0,
            "received_at": now,
        }
        for item in items
    ]
    # Many rows go out as one multi-row INSERT ("insertmanyvalues"); one row as a plain one.
    result = await session.execute(stmt, params if len(params) > 1 else params[0])
    created = {(channel, external_id): new_id for new_id, channel, external_id in result}
    missing = {(i.channel, i.external_id) for i in items} - created.keys()
    existing: dict[tuple[str, str], InboundMessageRow] = {}
    if missing:
        found = await session.scalars(
            select(InboundMessageRow).where(
                tuple_(InboundMessageRow.channel, InboundMessageRow.external_id).in_(missing)
            )
        )
        existing = {(row.channel, row.external_id): row for row in found}
    answers: list[StoredInbound] = []
    answered: set[tuple[str, str]] = set()
    for item in items:
        key = (item.channel, item.external_id)
        if key in created:
            answers.append(
                StoredInbound(id=created[key], created=key not in answered, result=None)
            )
        else:
            row = existing[key]
            answers.append(StoredInbound(id=row.id, created=False, result=result_of(row)))
        answered.add(key)
    return answers


def adopt_new(
    session: AsyncSession, stored: Sequence[tuple[int, NewInbound]], now: datetime
) -> list[InboundMessageRow]:
    """Rows this transaction has just inserted, as ORM rows, without reading them back.

    They are pending and locked by this transaction (it inserted them), so they are claimed
    already; changes to them (:func:`finish`) are written as updates when the session flushes.
    """
    rows = []
    for inbound_id, item in stored:
        row = InboundMessageRow(
            id=inbound_id,
            channel=item.channel,
            external_id=item.external_id,
            payload=item.payload,
            state="pending",
            outcome=None,
            reason=None,
            ticket_id=None,
            attempts=0,
            error=None,
            received_at=now,
            processed_at=None,
        )
        make_transient_to_detached(row)
        session.add(row)
        rows.append(row)
    return rows


async def claim(session: AsyncSession, inbound_id: int) -> InboundMessageRow | None:
    """Lock a pending row for processing; None when it is gone or already processed."""
    stmt = select(InboundMessageRow).where(InboundMessageRow.id == inbound_id)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    row = (await session.scalars(stmt)).first()
    return row if row is not None and row.state == "pending" else None


async def claim_many(
    session: AsyncSession, ids: Sequence[int]
) -> tuple[list[InboundMessageRow], list[InboundMessageRow]]:
    """:func:`claim` for a batch: (pending rows locked for processing, rows already processed).

    Rows another worker holds (PostgreSQL) or that do not exist are in neither list.
    """
    stmt = (
        select(InboundMessageRow)
        .where(InboundMessageRow.id.in_(ids))
        .order_by(InboundMessageRow.id)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    rows = list(await session.scalars(stmt))
    return [r for r in rows if r.state == "pending"], [r for r in rows if r.state != "pending"]


async def get(session: AsyncSession, inbound_id: int) -> InboundMessageRow | None:
    return await session.get(InboundMessageRow, inbound_id)


def finish(row: InboundMessageRow, result: IntakeResult, now: datetime) -> None:
    row.state = "done"
    row.outcome = result.outcome.value
    row.ticket_id = result.ticket_number
    row.reason = result.reason
    row.processed_at = now
    row.attempts += 1
    row.error = None


async def record_failure(
    session: AsyncSession, inbound_id: int, error: str, *, give_up: bool
) -> None:
    """Count a failed attempt; after the last one the row is kept as ``failed`` for replay."""
    row = await session.get(InboundMessageRow, inbound_id)
    if row is None:
        return
    row.attempts += 1
    row.error = error[:4000]
    if give_up:
        row.state = "failed"


async def pending_ids(
    session: AsyncSession, older_than: datetime, limit: int = 1000
) -> Sequence[int]:
    stmt = (
        select(InboundMessageRow.id)
        .where(InboundMessageRow.state == "pending", InboundMessageRow.received_at <= older_than)
        .order_by(InboundMessageRow.id)
        .limit(limit)
    )
    return (await session.scalars(stmt)).all()


async def requeue_failed(session: AsyncSession, ids: Sequence[int] | None = None) -> list[int]:
    """Put failed rows back to pending (``okno replay``); returns the ids."""
    stmt = (
        update(InboundMessageRow)
        .where(InboundMessageRow.state == "failed")
        .values(state="pending", error=None)
        .returning(InboundMessageRow.id)
    )
    if ids:
        stmt = stmt.where(InboundMessageRow.id.in_(ids))
    return list((await session.execute(stmt)).scalars().all())
