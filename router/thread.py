"""Threading by explicit references: a ticket number, a status-page token, a replied-to message."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from channels.base import InboundMessage
from ticketing.domain import Contact, Status
from ticketing.models import InboundMessageRow, OutboxRow, TicketRow


async def find_thread(
    session: AsyncSession,
    message: InboundMessage,
    requester: Contact,
    *,
    status_hash: Callable[[str], str],
) -> int | None:
    """The ticket this message explicitly continues, or None.

    A status-page token is proof of access on its own. A ticket number or a message reference
    counts only when the writer is that ticket's requester: anybody can type ``#4567``.
    Closed tickets are not continued here: a follow-up opens a new ticket.
    """
    refs = message.refs
    if refs.status_token:
        ticket = (
            await session.scalars(
                select(TicketRow).where(
                    TicketRow.status_token_hash == status_hash(refs.status_token)
                )
            )
        ).first()
        if ticket is not None and ticket.status != Status.CLOSED.value:
            return ticket.id
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
    for number in candidates:
        row = await session.get(TicketRow, number)
        if (
            row is not None
            and row.requester_id == requester.id
            and row.status != Status.CLOSED.value
        ):
            return row.id
    return None
