"""Reads and writes calls inside a caller-owned transaction (the repository never commits).

Every insert is idempotent (``ON CONFLICT DO NOTHING`` on the unique keys), so an event or a
recording delivered twice is stored once whatever the backend and however processes race.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from ticketing.domain import IdentityKind
from ticketing.models import CommentRow, InboundMessageRow
from ticketing.repository import TicketRepository
from ticketing.rows_phone import CallEventRow, CallRecordingRow, CallRow

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# First key of the PostgreSQL advisory lock that serialises decisions about one phone number.
_NUMBER_LOCK_SPACE = 74663  # "PHONE" on a keypad


class PhoneStore:
    """Call queries bound to one session (one transaction)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._postgres = session.get_bind().dialect.name == "postgresql"

    def _insert(self, table: Any) -> Any:
        return (pg_insert if self._postgres else sqlite_insert)(table)

    async def call(self, source: str, key: str, now: datetime, *, lock: bool) -> CallRow:
        """The call row, created if new; with ``lock``, locked until the transaction ends.

        The lock serialises what can change a call (its definitive event, its recordings,
        the router linking it); SQLite needs none, okno holds one writer lock there.
        """
        await self.session.execute(
            self._insert(CallRow)
            .values(source=source, key=key, state="new", created_at=now, updated_at=now)
            .on_conflict_do_nothing(index_elements=["source", "key"])
        )
        stmt = select(CallRow).where(CallRow.source == source, CallRow.key == key)
        if lock and self._postgres:
            stmt = stmt.with_for_update()
        return (await self.session.scalars(stmt)).one()

    async def call_with_event(self, source: str, key: str, event_key: str) -> CallRow | None:
        """The call, if this very event of it is stored already (a redelivery); no locks."""
        stmt = (
            select(CallRow)
            .join(CallEventRow, CallEventRow.call_id == CallRow.id)
            .where(CallRow.source == source, CallRow.key == key)
            .where(CallEventRow.event_key == event_key)
        )
        return (await self.session.scalars(stmt)).first()

    async def add_event(
        self,
        call: CallRow,
        *,
        event_key: str,
        kind: str,
        payload: dict[str, Any],
        now: datetime,
        leg: tuple[str, int, str] | None = None,
    ) -> bool:
        """Store one event of ``call``; False when it was stored before (a redelivery)."""
        leg_id, seq, leg_state = leg if leg is not None else (None, None, None)
        stmt = (
            self._insert(CallEventRow)
            .values(
                call_id=call.id,
                event_key=event_key,
                kind=kind,
                leg_id=leg_id,
                seq=seq,
                leg_state=leg_state,
                payload=payload,
                received_at=now,
            )
            .on_conflict_do_nothing(index_elements=["call_id", "event_key"])
            .returning(CallEventRow.id)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None

    async def add_recording(self, call_id: int, *, ref: str, url: str, now: datetime) -> None:
        await self.session.execute(
            self._insert(CallRecordingRow)
            .values(call_id=call_id, ref=ref, url=url, created_at=now)
            .on_conflict_do_nothing(index_elements=["call_id", "ref"])
        )

    async def unlogged_recordings(self, call_id: int) -> Sequence[CallRecordingRow]:
        stmt = (
            select(CallRecordingRow)
            .where(CallRecordingRow.call_id == call_id, CallRecordingRow.ticket_id.is_(None))
            .order_by(CallRecordingRow.id)
        )
        return (await self.session.scalars(stmt)).all()

    async def lock_number(self, number: str) -> None:
        """Serialise decisions about one caller until the transaction ends.

        Two calls from one number must not both open a ticket. SQLite needs nothing: okno
        holds a single writer lock around every write transaction there.
        """
        if self._postgres:
            await self.session.execute(
                text("SELECT pg_advisory_xact_lock(:space, hashtext(:number))"),
                {"space": _NUMBER_LOCK_SPACE, "number": number},
            )

    async def open_ticket_of(self, number: str) -> int | None:
        """The newest open ticket of the contact who owns this phone number, if any."""
        repo = TicketRepository(self.session)
        contact = await repo.contact_by_identity(IdentityKind.PHONE, number)
        if contact is None:
            return None
        rows = await repo.open_rows_of(contact.id, _EPOCH)
        return rows[0].id if rows else None

    async def calls_of(self, number: str, state: str) -> Sequence[CallRow]:
        """Calls from or to ``number`` in ``state``, oldest first."""
        stmt = (
            select(CallRow)
            .where(CallRow.number == number, CallRow.state == state)
            .order_by(CallRow.id)
        )
        return (await self.session.scalars(stmt)).all()

    async def ticket_in_the_making(self, number: str) -> bool:
        """Whether a call from ``number`` is in the inbox, its ticket not made yet.

        A submission whose routing failed for good (kept for ``okno replay``) does not count:
        later calls from the number must not wait for it.
        """
        stmt = (
            select(CallRow.id)
            .join(InboundMessageRow, InboundMessageRow.id == CallRow.inbound_id)
            .where(CallRow.number == number, CallRow.state == "submitted")
            .where(InboundMessageRow.state == "pending")
        )
        return (await self.session.scalars(stmt.limit(1))).first() is not None

    async def call_by_inbound(self, inbound_id: int) -> CallRow | None:
        stmt = select(CallRow).where(CallRow.inbound_id == inbound_id)
        if self._postgres:
            stmt = stmt.with_for_update()
        return (await self.session.scalars(stmt)).first()

    async def inbound_of_comment(self, comment_id: int) -> int | None:
        """The inbox message a phone comment came from, if it did."""
        row = await self.session.get(CommentRow, comment_id)
        if row is None or row.channel != "phone":
            return None
        return row.inbound_id
