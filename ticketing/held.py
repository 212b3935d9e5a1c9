"""New tickets held back within one transaction and written together (batched routing).

The router opens the tickets of a whole batch of messages in one transaction. Writing each
ticket at once costs a database round trip per message, mostly waiting; instead their ids come
from one allocation, and each ticket with its first comment and ``created`` event is held here
and written with one statement per table. Every read of tickets in the meantime (the
repository's ticket queries, :meth:`TicketService.load`, a thread lookup) first writes what is
held when it could see it, so each message of the batch sees every ticket opened before it,
exactly as if that one had been written at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from ticketing.models import AttachmentRow, CommentRow, TicketEventRow, TicketRow

# The tables, for Core statements on the hot path.
_TICKET = cast("Table", TicketRow.__table__)
_COMMENT = cast("Table", CommentRow.__table__)
_ATTACHMENT = cast("Table", AttachmentRow.__table__)
_EVENT = cast("Table", TicketEventRow.__table__)

_KEY = "okno.held_tickets"  # in session.info while a batch holds tickets
_NEXT_TICKET_IDS = text(
    "SELECT nextval(pg_get_serial_sequence('ticket', 'id')) FROM generate_series(1, :n)"
)
_NEXT_TICKET_IDS = text(
    "SELECT nextval(pg_get_serial_sequence('ticket', 'id')) FROM generate_series(1, :n)"
)


@dataclass(slots=True)
class HeldTickets:
    """What one batch holds: column values, in the order the tickets were opened."""

    expected: int  # how many tickets the batch may open: the size of the id block
    ids: list[int] = field(default_factory=list)  # allocated, not used yet
    last_id: int = 0
    tickets: list[dict[str, Any]] = field(default_factory=list)
    comments: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[list[dict[str, Any]]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)


def hold(session: AsyncSession, expected: int) -> HeldTickets:
    """Start holding new tickets in ``session`` (see :meth:`TicketService.batch`)."""
    held = HeldTickets(expected=expected)
    session.info[_KEY] = held
    return held


def release(session: AsyncSession) -> None:
    session.info.pop(_KEY, None)


def held_in(session: AsyncSession) -> HeldTickets | None:
    held: HeldTickets | None = session.info.get(_KEY)
    return held


async def next_id(session: AsyncSession, held: HeldTickets) -> int:
    """A ticket id for the next held ticket; ids are allocated a block per batch."""
    if not held.ids:
        held.ids = await _allocate(session, max(1, held.expected - len(held.tickets)), held)
    held.last_id = held.ids.pop(0)
    return held.last_id


async def _allocate(session: AsyncSession, count: int, held: HeldTickets) -> list[int]:
    if session.get_bind().dialect.name == "postgresql":
        rows = await session.execute(_NEXT_TICKET_IDS, {"n": count})
        return sorted(int(row[0]) for row in rows)
    # SQLite has one writer at a time (Database's write lock): the next ids are the highest
    # written or held so far, plus one. A second process writing meanwhile makes the insert
    # fail, and the router then routes the batch message by message.
    top = await session.scalar(select(func.max(TicketRow.id)))
    start = max(top or 0, held.last_id) + 1
    return list(range(start, start + count))


async def write_if(session: AsyncSession, wanted: Callable[[dict[str, Any]], bool]) -> None:
    """Write what is held if any held ticket is one ``wanted`` (a reader could see it)."""
    held = held_in(session)
    if held is not None and any(wanted(ticket) for ticket in held.tickets):
        await write(session)


async def write(session: AsyncSession) -> None:
    """Write every held ticket, then their comments (with attachments) and events."""
    held = held_in(session)
    if held is None or not held.tickets:
        return
    tickets, comments, attachments, events = (
        held.tickets,
        held.comments,
        held.attachments,
        held.events,
    )
    held.tickets, held.comments, held.attachments, held.events = [], [], [], []
    # Before anything the session holds flushes: those rows may refer to these tickets.
    with session.no_autoflush:
        await session.execute(insert(_TICKET), tickets)
        comment_table = _COMMENT
        if any(attachments):
            stmt = insert(comment_table).returning(
                comment_table.c.id, sort_by_parameter_order=True
            )
            comment_ids = list((await session.execute(stmt, comments)).scalars())
            files = [
                {**item, "comment_id": comment_id}
                for comment_id, items in zip(comment_ids, attachments, strict=True)
                for item in items
            ]
            await session.execute(insert(_ATTACHMENT), files)
        else:
            await session.execute(insert(comment_table), comments)
        await session.execute(insert(_EVENT), events)
