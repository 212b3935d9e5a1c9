"""What the desk shows about a ticket, read in one go: the ticket, its first message and files,
the files of the comment an event is about, how the requester can be reached, and whether the
agents were asked to call them back."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from bot.cards import Reachability
from bot.context import BotDeps
from ticketing import telegram_store
from ticketing.domain import (
    Attachment,
    AuthorKind,
    ChannelKind,
    IdentityKind,
    Ticket,
    TicketEvent,
)
from ticketing.repository import TicketRepository


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketView:
    """A ticket as the desk shows it."""

    ticket: Ticket
    first_message: str
    first_files: tuple[Attachment, ...]
    comment_files: tuple[Attachment, ...]
    reach: Reachability
    actors: dict[str, str]  # event id → who did it (for notices queued without an actor)
    status_by: str | None  # who made the last status change


def reachability(ticket: Ticket, identities: Sequence[tuple[str, str, bool]]) -> Reachability:
    """Phone-only when no written channel reaches the requester: replies go to no channel,
    or only to a phone, or to a Telegram chat that blocked the bot (and no e-mail is known)."""
    phone = next((value for kind, value, _ in identities if kind == IdentityKind.PHONE), None)
    blocked = any(kind == IdentityKind.TELEGRAM and off for kind, _, off in identities)
    has_email = any(kind == IdentityKind.EMAIL and not off for kind, _, off in identities)
    reply = ticket.reply_to
    unreachable = reply is not None and reply.channel is ChannelKind.TELEGRAM and blocked
    written = reply is not None and reply.channel is not ChannelKind.PHONE and not unreachable
    return Reachability(
        phone=phone, phone_only=not written and not has_email, unreachable=unreachable
    )


async def load_view(deps: BotDeps, ticket_id: int, *, comment_key: object) -> TicketView | None:
    """Read a ticket's view; None when the ticket is gone."""
    async with deps.db.read() as session:
        detail = await TicketRepository(session).detail(ticket_id, public_only=False)
        if detail is None:
            return None
        identities = await telegram_store.identities_of(session, detail.ticket.requester.id)
        pending, unanswered = await deps.tickets.callback_status(session, ticket_id)
    comments = detail.comments
    first = next((c for c in comments if c.author_kind is AuthorKind.REQUESTER), None)
    wanted = str(comment_key) if comment_key is not None else None
    commented = next((c for c in comments if str(c.id) == wanted), None)
    return TicketView(
        ticket=detail.ticket,
        first_message=first.body if first else "",
        first_files=first.attachments if first else (),
        comment_files=commented.attachments if commented else (),
        reach=dataclasses.replace(
            reachability(detail.ticket, identities),
            callback_pending=pending,
            unanswered=unanswered,
        ),
        actors={str(event.id): event.actor for event in detail.events},
        status_by=_status_by(detail.ticket, detail.events),
    )


def _status_by(ticket: Ticket, events: Sequence[TicketEvent]) -> str | None:
    """Who changed the status last (the requester by name); None while it is still new."""
    actor = next((e.actor for e in reversed(events) if e.kind == "status_changed"), None)
    if actor == "requester":
        return ticket.requester.name or actor
    return actor
