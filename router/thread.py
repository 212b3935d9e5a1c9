"""Threading by explicit references: a ticket number, a status-page token, a replied-to message."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from channels.base import InboundMessage
from ticketing import held
from ticketing.domain import Contact, Status
from ticketing.models import InboundMessageRow, OutboxRow, TicketRow

#: A reply this soon after a ticket closed reopens it; later, it opens a new ticket.
DEFAULT_REOPEN_WINDOW = timedelta(days=14)


def _continuable(row: TicketRow, message: InboundMessage, reopen_within: timedelta) -> bool:
    if row.status != Status.CLOSED.value:
        return True
    closed_at = row.closed_at
    return closed_at is not None and message.received_at - closed_at <= reopen_within


async def find_thread(
    session: AsyncSession,
    message: InboundMessage,
    requester: Contact,
    *,
    status_hash: Callable[[str], str],
    reopen_within: timedelta = DEFAULT_REOPEN_WINDOW,
) -> int | None:
    """The ticket this message explicitly continues, or None.

    A status-page token is proof of access on its own. A ticket number or a message reference
    counts only when the writer is that ticket's requester: anybody can type ``#4567``.
    A closed ticket is continued (the service reopens it) only within ``reopen_within`` of
    its closing, measured at the message's arrival; after that a follow-up opens a new ticket.
    """
    refs = message.refs
    if refs.status_token or refs.message_ids or refs.ticket_number is not None:
        # The router holds back a batch's writes until its end (held tickets, no autoflush);
        # what is read here (tickets, status-token hashes, routed inbox rows) must be written.
        await held.write(session)
        await session.flush()
    if refs.status_token:
        ticket = (
            await session.scalars(
                select(TicketRow).where(
                    TicketRow.status_token_hash == status_hash(refs.status_token)
                )
            )
        ).first()
        if ticket is not None and _continuable(ticket, message, reopen_within):
            return ticket.id
    for number in await _candidates(session, message):
        row = await session.get(TicketRow, number)
        if (
            row is not None
            and row.requester_id == requester.id
            and _continuable(row, message, reopen_within)
        ):
            return row.id
    return None


async def _candidates(session: AsyncSession, message: InboundMessage) -> list[int]:
    """Tickets the message names: its ``[#N]`` tag, then the tickets of replied-to messages."""
    refs = message.refs
    candidates: list[int] = []
    if refs.ticket_number is not None:
        candidates.append(refs.ticket_number)
    if refs.message_ids:
        ids = list(refs.message_ids)
        sent = select(OutboxRow.ticket_id).where(OutboxRow.external_id.in_(ids))
        received = select(InboundMessageRow.ticket_id).where(
            InboundMessageRow.channel == message.channel.value,
            InboundMessageRow.external_id.in_(ids),
        )
        for stmt in (sent, received):
            candidates.extend(t for t in (await session.scalars(stmt)).all() if t is not None)
    return candidates


async def referenced_ticket(session: AsyncSession, message: InboundMessage) -> int | None:
    """The existing ticket a message refers to but does not continue (closed past the reopen
    period, or written by someone who is not its requester): the new ticket links to it.
    """
    for number in await _candidates(session, message):
        if await session.get(TicketRow, number) is not None:
            return number
    return None
