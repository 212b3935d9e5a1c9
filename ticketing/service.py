"""Ticket operations: every change is checked, recorded as an event, and announced as a notice.

All methods run inside the caller's transaction, so the ticket change, its events and the
outbox rows planned from its notices commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from ticketing.domain import (
    Attachment,
    AuthorKind,
    ChannelKind,
    Notice,
    Priority,
    ReplyAddress,
    Status,
    Ticket,
    TicketType,
)
from ticketing.lifecycle import check_transition
from ticketing.models import TicketRow
from ticketing.repository import TicketRepository, contact_from_row, ticket_from_row
from ticketing.tokens import StatusTokens

NoticeSink = Callable[[AsyncSession, Sequence[Notice], datetime], Awaitable[None]]


class TicketNotFoundError(LookupError):
    def __init__(self, number: int) -> None:
        super().__init__(f"ticket #{number} does not exist")
        self.number = number


class NotAllowedError(PermissionError):
    """The actor may not do this to this ticket (e.g. rating an open ticket)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class NewTicket:
    subject: str
    text: str
    requester_id: int
    author_name: str
    origin_channel: ChannelKind
    reply_to: ReplyAddress | None
    type: TicketType = TicketType.INCIDENT
    priority: Priority = Priority.MEDIUM
    impact: int = 3
    urgency: int = 3
    service: str | None = None
    category: str | None = None
    tags: tuple[str, ...] = ()
    classified: bool = False
    team: str | None = None
    assignee: str | None = None
    fingerprint: tuple[str, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    inbound_id: int | None = None
    acknowledge: bool = True
    event_data: dict[str, object] = field(default_factory=dict)


class TicketService:
    """Creates and changes tickets; the only writer of ticket state."""

    def __init__(self, *, tokens: StatusTokens, notices: NoticeSink) -> None:
        self._tokens = tokens
        self._notices = notices

    async def _announce(
        self,
        session: AsyncSession,
        row: TicketRow,
        kind: str,
        key: str,
        now: datetime,
        **data: object,
    ) -> None:
        ticket = ticket_from_row(row, contact_from_row(row.requester))
        notice = Notice(
            kind=kind,
            key=key,
            ticket=ticket,
            status_token=self._tokens.token_for(row.id),
            data=dict(data),
        )
        await self._notices(session, [notice], now)

    async def create(self, session: AsyncSession, new: NewTicket, now: datetime) -> TicketRow:
        repo = TicketRepository(session)
        row = TicketRow(
            subject=new.subject,
            type=new.type.value,
            service=new.service,
            category=new.category,
            tags=list(new.tags),
            classified=new.classified,
            impact=new.impact,
            urgency=new.urgency,
            priority=new.priority.value,
            status=Status.NEW.value,
            requester_id=new.requester_id,
            origin_channel=new.origin_channel.value,
            reply_channel=new.reply_to.channel.value if new.reply_to else None,
            reply_address=new.reply_to.address if new.reply_to else None,
            reply_thread_hint=new.reply_to.thread_hint if new.reply_to else None,
            team=new.team,
            assignee=new.assignee,
            fingerprint=list(new.fingerprint),
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        await session.flush()
        row.status_token_hash = self._tokens.hash_for(row.id)
        repo.add_comment(
            ticket_id=row.id,
            author_kind=AuthorKind.REQUESTER,
            author_name=new.author_name,
            public=True,
            body=new.text,
            channel=new.origin_channel,
            now=now,
            inbound_id=new.inbound_id,
            attachments=new.attachments,
        )
        repo.add_event(row.id, "created", new.author_name or "requester", now, **new.event_data)
        await session.refresh(row, ["requester"])
        await self._announce(
            session, row, "created", str(row.id), now, acknowledge=new.acknowledge
        )
        return row

    async def load(self, session: AsyncSession, number: int) -> TicketRow:
        row = await TicketRepository(session).row(number, for_update=True)
        if row is None:
            raise TicketNotFoundError(number)
        return row

    async def add_requester_message(
        self,
        session: AsyncSession,
        row: TicketRow,
        *,
        text: str,
        author_name: str,
        channel: ChannelKind,
        now: datetime,
        inbound_id: int | None = None,
        attachments: Sequence[Attachment] = (),
        reason: str = "reply",
        acknowledge: bool = False,
    ) -> None:
        """A requester wrote again: comment, and wake the ticket if it waited on them."""
        repo = TicketRepository(session)
        comment = repo.add_comment(
            ticket_id=row.id,
            author_kind=AuthorKind.REQUESTER,
            author_name=author_name,
            public=True,
            body=text,
            channel=channel,
            now=now,
            inbound_id=inbound_id,
            attachments=attachments,
        )
        repo.add_event(row.id, "requester_message", author_name or "requester", now, reason=reason)
        status = Status(row.status)
        if status is Status.WAITING:
            self._set_status(row, Status.IN_PROGRESS, now)
            repo.add_event(
                row.id, "status_changed", "requester", now, old="waiting", new="in_progress"
            )
        elif status in {Status.RESOLVED, Status.CLOSED}:
            self._set_status(row, Status.REOPENED, now)
            repo.add_event(
                row.id, "status_changed", "requester", now, old=status.value, new="reopened"
            )
        row.updated_at = now
        await session.flush()
        await self._announce(
            session,
            row,
            "requester_message",
            str(comment.id),
            now,
            text=text,
            reason=reason,
            acknowledge=acknowledge,
            old_status=status.value,
            new_status=row.status,
        )

    async def add_agent_comment(
        self,
        session: AsyncSession,
        number: int,
        *,
        author_name: str,
        text: str,
        public: bool,
        now: datetime,
        channel: ChannelKind | None = None,
        attachments: Sequence[Attachment] = (),
    ) -> Ticket:
        row = await self.load(session, number)
        repo = TicketRepository(session)
        comment = repo.add_comment(
            ticket_id=row.id,
            author_kind=AuthorKind.AGENT,
            author_name=author_name,
            public=public,
            body=text,
            channel=channel,
            now=now,
            attachments=attachments,
        )
        repo.add_event(row.id, "agent_comment", author_name, now, public=public)
        row.updated_at = now
        if public and row.first_reaction_at is None:
            row.first_reaction_at = now
        await session.flush()
        await self._announce(
            session,
            row,
            "public_reply" if public else "private_note",
            str(comment.id),
            now,
            author_name=author_name,
            text=text,
        )
        return ticket_from_row(row, contact_from_row(row.requester))

    async def change_status(
        self,
        session: AsyncSession,
        number: int,
        target: Status,
        *,
        actor: str,
        now: datetime,
        comment: str | None = None,
    ) -> Ticket:
        row = await self.load(session, number)
        old = Status(row.status)
        check_transition(old, target)
        self._set_status(row, target, now)
        event = TicketRepository(session).add_event(
            row.id, "status_changed", actor, now, old=old.value, new=target.value, comment=comment
        )
        await session.flush()
        kind = {Status.WAITING: "waiting_for_you", Status.RESOLVED: "resolved"}.get(
            target, "status_changed"
        )
        await self._announce(
            session,
            row,
            kind,
            str(event.id),
            now,
            old_status=old.value,
            new_status=target.value,
            comment=comment,
        )
        return ticket_from_row(row, contact_from_row(row.requester))

    async def requester_decision(
        self, session: AsyncSession, number: int, *, solved: bool, actor: str, now: datetime
    ) -> Ticket:
        """The requester confirms a resolution (closes) or says it is not solved (reopens)."""
        row = await self.load(session, number)
        if Status(row.status) is not Status.RESOLVED:
            msg = "only a resolved ticket can be confirmed or reopened"
            raise NotAllowedError(msg)
        target = Status.CLOSED if solved else Status.REOPENED
        return await self.change_status(session, number, target, actor=actor, now=now)

    async def rate(
        self,
        session: AsyncSession,
        number: int,
        *,
        rating: int,
        comment: str | None,
        actor: str,
        now: datetime,
    ) -> Ticket:
        row = await self.load(session, number)
        if Status(row.status) not in {Status.RESOLVED, Status.CLOSED}:
            msg = "a ticket can be rated once it is resolved"
            raise NotAllowedError(msg)
        if not 1 <= rating <= 5:
            msg = "rating must be 1 to 5"
            raise ValueError(msg)
        row.rating = rating
        row.rating_comment = comment
        row.updated_at = now
        TicketRepository(session).add_event(
            row.id, "rated", actor, now, rating=rating, comment=comment
        )
        return ticket_from_row(row, contact_from_row(row.requester))

    @staticmethod
    def _set_status(row: TicketRow, target: Status, now: datetime) -> None:
        row.status = target.value
        row.updated_at = now
        if target is Status.IN_PROGRESS and row.first_reaction_at is None:
            row.first_reaction_at = now
        if target is Status.RESOLVED:
            row.resolved_at = now
        if target is Status.CLOSED:
            row.closed_at = now
        if target is Status.REOPENED:
            row.resolved_at = None
            row.closed_at = None
