"""The durable inbox: every inbound message is stored here before its source is acknowledged.

A unique (channel, external_id) is the truth about redelivery: storing the same pair twice
returns the first row, and once the router has processed it, the stored result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from ticketing.domain import IntakeOutcome, IntakeResult
from ticketing.models import InboundMessageRow


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
    values = {
        "channel": channel,
        "external_id": external_id,
        "payload": payload,
        "state": "pending",
        "attempts": 0,
        "received_at": now,
    }
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = (
        insert(InboundMessageRow)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["channel", "external_id"])
        .returning(InboundMessageRow.id)
    )
    new_id = (await session.execute(stmt)).scalar_one_or_none()
    if new_id is not None:
        return StoredInbound(id=new_id, created=True, result=None)
    row = (
        await session.scalars(
            select(InboundMessageRow).where(
                InboundMessageRow.channel == channel, InboundMessageRow.external_id == external_id
            )
        )
    ).one()
    return StoredInbound(id=row.id, created=False, result=result_of(row))


async def claim(session: AsyncSession, inbound_id: int) -> InboundMessageRow | None:
    """Lock a pending row for processing; None when it is gone or already processed."""
    stmt = select(InboundMessageRow).where(InboundMessageRow.id == inbound_id)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    row = (await session.scalars(stmt)).first()
    return row if row is not None and row.state == "pending" else None


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
