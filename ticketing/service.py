"""Ticket operations: every change is checked, recorded as an event, and announced as a notice.

All methods run inside the caller's transaction, so the ticket change, its events and the
outbox rows planned from its notices commit together or not at all.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from ticketing import held
from ticketing.domain import (
    Attachment,
    AuthorKind,
    ChannelKind,
    Contact,
    Notice,
    Priority,
    ReplyAddress,
    Status,
    Ticket,
    TicketType,
)
from ticketing.lifecycle import check_transition
from ticketing.models import CommentRow, TicketEventRow, TicketRow
from ticketing.repository import TicketRepository, contact_from_row, ticket_from_row
from ticketing.tokens import StatusTokens

NoticeSink = Callable[[AsyncSession, Sequence[Notice], datetime], Awaitable[None]]

# session.info key of the notices held back by TicketService.batch
_DEFERRED_NOTICES = "okno.deferred_notices"


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
    requester: Contact | None = None  # when the caller has it at hand (saves a query)
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
    # A ticket the message named but did not continue (closed too long ago, or not the
    # writer's): both tickets record the link in their history.
    related_ticket: int | None = None


def _created_data(new: NewTicket) -> dict[str, object]:
    data = dict(new.event_data)
    if new.related_ticket is not None:
        data["related_ticket"] = new.related_ticket
    return data


class TicketService:
    """Creates and changes tickets; the only writer of ticket state."""

    def __init__(self, *, tokens: StatusTokens, notices: NoticeSink) -> None:
        self._tokens = tokens
        self._notices = notices

    @asynccontextmanager
    async def batch(
        self, session: AsyncSession, now: datetime, *, expected_tickets: int
    ) -> AsyncIterator[None]:
        """Hold back new tickets and every notice of the block; write them all at its end.

        The router wraps a batch of messages in it: the batch's tickets (with their first
        comments and events), the rest of the session's changes and the outbox rows planned
        from the notices are then written with a few statements in all (see ticketing.held).
        Reads in the block still see every ticket opened before them. On an exception
        nothing is written (the caller's transaction rolls back).
        """
        notices: list[Notice] = []
        session.info[_DEFERRED_NOTICES] = notices
        held.hold(session, expected_tickets)
        try:
            yield
            await held.write(session)
            await session.flush()
        finally:
            held.release(session)
            session.info.pop(_DEFERRED_NOTICES, None)
        if notices:
            await self._notices(session, notices, now)

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
        await self._sink(session, self._notice(ticket, kind, key, dict(data)), now)

    def _notice(self, ticket: Ticket, kind: str, key: str, data: dict[str, object]) -> Notice:
        return Notice(
            kind=kind,
            key=key,
            ticket=ticket,
            status_token=self._tokens.token_for(ticket.id),
            data=data,
        )

    async def _sink(self, session: AsyncSession, notice: Notice, now: datetime) -> None:
        deferred: list[Notice] | None = session.info.get(_DEFERRED_NOTICES)
        if deferred is not None:
            deferred.append(notice)
        else:
            await self._notices(session, [notice], now)

    async def create(self, session: AsyncSession, new: NewTicket, now: datetime) -> TicketRow:
        """Open a ticket with its first comment, ``created`` event and notice.

        Inside :meth:`batch` the ticket is held and written with the batch; otherwise the
        ticket row is written at once (its id is the number) and the rest with the session's
        next flush.
        """
        values: dict[str, object] = {
            "subject": new.subject,
            "type": new.type.value,
            "service": new.service,
            "category": new.category,
            "tags": list(new.tags),
            "classified": new.classified,
            "impact": new.impact,
            "urgency": new.urgency,
            "priority": new.priority.value,
            "status": Status.NEW.value,
            "requester_id": new.requester_id,
            "origin_channel": new.origin_channel.value,
            "reply_channel": new.reply_to.channel.value if new.reply_to else None,
            "reply_address": new.reply_to.address if new.reply_to else None,
            "reply_thread_hint": new.reply_to.thread_hint if new.reply_to else None,
            "team": new.team,
            "assignee": new.assignee,
            "fingerprint": list(new.fingerprint),
            "created_at": now,
            "updated_at": now,
        }
        repo = TicketRepository(session)
        batch = held.held_in(session)
        if batch is None:
            row = await repo.insert_ticket(values)
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
            repo.add_event(
                row.id, "created", new.author_name or "requester", now, **_created_data(new)
            )
        else:
            ticket_id = await held.next_id(session, batch)
            values |= {"id": ticket_id, "status_token_hash": self._tokens.hash_for(ticket_id)}
            row = TicketRow(**values)  # not in the session: written with the batch
            batch.tickets.append(values)
            batch.comments.append(
                {
                    "ticket_id": ticket_id,
                    "author_kind": AuthorKind.REQUESTER.value,
                    "author_name": new.author_name,
                    "public": True,
                    "body": new.text,
                    "channel": new.origin_channel.value,
                    "inbound_id": new.inbound_id,
                    "created_at": now,
                }
            )
            batch.attachments.append(
                [
                    {
                        "sha256": a.sha256,
                        "filename": a.filename,
                        "content_type": a.content_type,
                        "size": a.size,
                    }
                    for a in new.attachments
                ]
            )
            batch.events.append(
                {
                    "ticket_id": ticket_id,
                    "kind": "created",
                    "actor": new.author_name or "requester",
                    "data": _created_data(new),
                    "created_at": now,
                }
            )
        if new.related_ticket is not None:
            repo.add_event(
                new.related_ticket, "related_opened", "router", now, related_ticket=row.id
            )
        requester = new.requester or await repo.contact(new.requester_id)
        ticket = ticket_from_row(row, requester)
        notice = self._notice(ticket, "created", str(row.id), {"acknowledge": new.acknowledge})
        await self._sink(session, notice, now)
        return row

    async def load(self, session: AsyncSession, number: int) -> TicketRow:
        # The change that follows flushes; rows held by a batch that it may refer to (an inbox
        # row routed to a held ticket) must be written first.
        await held.write(session)
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
        # The files travel with the notice by reference (content-addressed ids), so a channel
        # that carries attachments (mail) sends them without reading the comment back.
        files = [
            {
                "sha256": a.sha256,
                "filename": a.filename,
                "content_type": a.content_type,
                "size": a.size,
            }
            for a in attachments
        ]
        await self._announce(
            session,
            row,
            "public_reply" if public else "private_note",
            str(comment.id),
            now,
            author_name=author_name,
            text=text,
            **({"attachments": files} if files else {}),
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
            actor=actor,
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

    # -- phone: calls on tickets and call-backs (added by the phone channel) ----------------

    async def log_call(
        self,
        session: AsyncSession,
        number: int,
        *,
        key: str,
        text: str,
        now: datetime,
        actor: str = "phone",
        details: dict[str, object] | None = None,
    ) -> Ticket:
        """Note a call, or a link to its recording, on a ticket: a private system comment.

        ``key`` names the logged item (the notice key); the caller logs each item once.
        ``details`` (e.g. the call's direction, result, number) go into the event and notice.
        """
        row = await self.load(session, number)
        repo = TicketRepository(session)
        repo.add_comment(
            ticket_id=row.id,
            author_kind=AuthorKind.SYSTEM,
            author_name=actor,
            public=False,
            body=text,
            channel=ChannelKind.PHONE,
            now=now,
        )
        repo.add_event(row.id, "call_logged", actor, now, key=key, details=details or {})
        row.updated_at = now
        await session.flush()
        await self._announce(
            session, row, "call_logged", key, now, text=text, details=details or {}
        )
        return ticket_from_row(row, contact_from_row(row.requester))

    async def request_callback(
        self,
        session: AsyncSession,
        number: int,
        *,
        key: str,
        reason: str,
        now: datetime,
        actor: str = "phone",
        details: dict[str, object] | None = None,
    ) -> None:
        """Ask the agents to call the requester back (notice ``callback_needed``).

        ``reason``: ``missed_call``, or the notice kind of a reply that a requester reachable
        only by phone would otherwise never hear. The agents' side shows it with
        [Перезвонил] / [Не дозвонился], which call :meth:`record_callback_attempt`.
        """
        row = await self.load(session, number)
        TicketRepository(session).add_event(
            row.id, "callback_needed", actor, now, key=key, reason=reason, details=details or {}
        )
        await session.flush()
        await self._announce(
            session,
            row,
            "callback_needed",
            f"callback:{key}",
            now,
            reason=reason,
            details=details or {},
        )

    async def callback_status(self, session: AsyncSession, number: int) -> tuple[bool, int]:
        """``(pending, unanswered)``: whether a call-back is asked for and not yet made, and
        how many attempts went unanswered since the requester was last reached."""
        detail = await TicketRepository(session).detail(number, public_only=False)
        if detail is None:
            raise TicketNotFoundError(number)
        return self._callback_counts([(e.kind, e.data) for e in detail.events])

    @staticmethod
    def _callback_counts(events: Sequence[tuple[str, dict[str, object]]]) -> tuple[bool, int]:
        pending, unanswered = False, 0
        for kind, data in events:
            if kind == "callback_needed":
                pending = True
            elif kind == "callback_attempt" and data.get("reached"):
                pending, unanswered = False, 0
            elif kind == "callback_attempt":
                unanswered += 1
        return pending, unanswered

    async def record_callback_attempt(
        self,
        session: AsyncSession,
        number: int,
        *,
        reached: bool,
        actor: str,
        now: datetime,
        give_up_after: int,
        key: str | None = None,
        comment: str | None = None,
    ) -> int:
        """An agent called the requester back; returns the unanswered attempts so far.

        At the ``give_up_after``-th unanswered attempt the notice ``callback_unreachable`` asks
        notify to tell the requester through any other identity they have. ``key`` (e.g. a
        Telegram callback-query id) makes a repeated button press count once.
        """
        detail = await TicketRepository(session).detail(number, public_only=False)
        if detail is None:
            raise TicketNotFoundError(number)
        _, unanswered = self._callback_counts([(e.kind, e.data) for e in detail.events])
        if key is not None and any(
            e.kind == "callback_attempt" and e.data.get("key") == key for e in detail.events
        ):
            return unanswered
        unanswered = 0 if reached else unanswered + 1
        row = await self.load(session, number)
        event = TicketRepository(session).add_event(
            row.id,
            "callback_attempt",
            actor,
            now,
            reached=reached,
            unanswered=unanswered,
            key=key,
            comment=comment,
        )
        row.updated_at = now
        await session.flush()
        await self._announce(
            session,
            row,
            "callback_attempt",
            str(event.id),
            now,
            reached=reached,
            unanswered=unanswered,
            actor=actor,
            comment=comment,
        )
        if not reached and unanswered == give_up_after:
            await self._announce(
                session,
                row,
                "callback_unreachable",
                str(event.id),
                now,
                unanswered=unanswered,
                identities=[
                    {"kind": i.kind.value, "value": i.value}
                    for i in detail.ticket.requester.identities
                ],
            )
        return unanswered

    # -- agents' commands (added by the Telegram desk) ------------------------------------------

    async def _open_row(self, session: AsyncSession, number: int) -> TicketRow:
        row = await self.load(session, number)
        if Status(row.status) is Status.CLOSED:
            msg = f"ticket #{number} is closed; reopen it first"
            raise NotAllowedError(msg)
        return row

    async def _changed(
        self,
        session: AsyncSession,
        row: TicketRow,
        kind: str,
        actor: str,
        now: datetime,
        **data: object,
    ) -> Ticket:
        """Record ``kind`` as an event and a notice (keyed by the event) after a field change."""
        row.updated_at = now
        event = TicketRepository(session).add_event(row.id, kind, actor, now, **data)
        await session.flush()
        # Any-typed, or mypy reads ``**data`` as a candidate for ``requester``.
        fields: dict[str, Any] = {"actor": actor, **data}
        await self._announce(session, row, kind, str(event.id), now, **fields)
        return ticket_from_row(row, contact_from_row(row.requester))

    async def assign(
        self,
        session: AsyncSession,
        number: int,
        *,
        assignee: str | None,
        actor: str,
        now: datetime,
    ) -> Ticket:
        """Give the ticket to ``assignee`` (None: nobody); notice ``assigned``."""
        row = await self._open_row(session, number)
        old = row.assignee
        if old == assignee:
            return ticket_from_row(row, contact_from_row(row.requester))
        row.assignee = assignee
        return await self._changed(session, row, "assigned", actor, now, old=old, new=assignee)

    async def set_priority(
        self, session: AsyncSession, number: int, priority: Priority, *, actor: str, now: datetime
    ) -> Ticket:
        """Override the priority the matrix chose; notice ``priority_changed``."""
        row = await self._open_row(session, number)
        old = row.priority
        if old == priority.value:
            return ticket_from_row(row, contact_from_row(row.requester))
        row.priority = priority.value
        return await self._changed(
            session, row, "priority_changed", actor, now, old=old, new=priority.value
        )

    async def set_type(
        self, session: AsyncSession, number: int, kind: TicketType, *, actor: str, now: datetime
    ) -> Ticket:
        """Reclassify (incident, service request, question); notice ``type_changed``."""
        row = await self._open_row(session, number)
        old = row.type
        if old == kind.value:
            return ticket_from_row(row, contact_from_row(row.requester))
        row.type = kind.value
        row.classified = True
        return await self._changed(
            session, row, "type_changed", actor, now, old=old, new=kind.value
        )

    async def set_service(
        self, session: AsyncSession, number: int, service: str, *, actor: str, now: datetime
    ) -> Ticket:
        """Move the ticket to another catalog service (the caller checks it exists)."""
        row = await self._open_row(session, number)
        old = row.service
        if old == service:
            return ticket_from_row(row, contact_from_row(row.requester))
        row.service = service
        row.classified = True
        return await self._changed(
            session, row, "service_changed", actor, now, old=old, new=service
        )

    async def _other_ticket(self, session: AsyncSession, number: int, other: int) -> TicketRow:
        if other == number:
            msg = "a ticket cannot refer to itself"
            raise NotAllowedError(msg)
        target = await self.load(session, other)
        if Status(target.status) is Status.CLOSED:
            msg = f"ticket #{other} is closed"
            raise NotAllowedError(msg)
        if number in {target.duplicate_of_id, target.parent_id}:
            msg = f"ticket #{other} already refers to #{number}"
            raise NotAllowedError(msg)
        return target

    async def mark_duplicate(
        self, session: AsyncSession, number: int, *, of: int, actor: str, now: datetime
    ) -> Ticket:
        """Merge: ``number`` is a duplicate of ``of`` and is closed (notice ``merged``, then
        ``status_changed`` for the requester); the master gets a ``duplicate_added`` event."""
        row = await self._open_row(session, number)
        await self._other_ticket(session, number, of)
        row.duplicate_of_id = of
        TicketRepository(session).add_event(of, "duplicate_added", actor, now, number=number)
        await self._changed(session, row, "merged", actor, now, into=of)
        return await self.change_status(
            session, number, Status.CLOSED, actor=actor, now=now, comment=f"#{of}"
        )

    async def link(
        self, session: AsyncSession, number: int, *, parent: int, actor: str, now: datetime
    ) -> Ticket:
        """Make ``number`` a child of the master incident ``parent``; notice ``linked``."""
        row = await self._open_row(session, number)
        await self._other_ticket(session, number, parent)
        row.parent_id = parent
        TicketRepository(session).add_event(parent, "child_linked", actor, now, number=number)
        return await self._changed(session, row, "linked", actor, now, parent=parent)

    async def record_edit(
        self,
        session: AsyncSession,
        number: int,
        *,
        comment_id: int,
        text: str,
        actor: str,
        now: datetime,
    ) -> bool:
        """The requester edited a message: the comment shows the new text, the old one stays in
        a ``comment_edited`` event (and notice). False when nothing changed."""
        row = await self.load(session, number)
        comment = await session.get(CommentRow, comment_id)
        if comment is None or comment.ticket_id != row.id or comment.body == text:
            return False
        old, comment.body = comment.body, text
        await self._changed(
            session, row, "comment_edited", actor, now, comment_id=comment_id, old=old, new=text
        )
        return True

    # -- SLA: ladder steps and timers on the ticket's history (added by the SLA part) ------------

    async def record_sla_events(
        self,
        session: AsyncSession,
        events: Sequence[tuple[Ticket, str, str, dict[str, object]]],
        *,
        now: datetime,
        announce: frozenset[str] = frozenset({"sla_warning", "sla_breach"}),
    ) -> None:
        """Record SLA events ``(ticket, kind, key, data)`` on many tickets at once, actor "sla".

        ``ticket`` is the caller's fresh snapshot (the escalator holds the ticket locked).
        Kinds in ``announce`` are also notices (one sink call for the whole batch), so the
        agents' side can post a warning or a breach in the ticket's topic; ``key`` names the
        occurrence (a timer fires once, so its key is unique per ticket). One INSERT for all:
        a tick may fire hundreds of timers.
        """
        if not events:
            return
        await _insert_sla_events(session, events, now)
        notices = [
            Notice(
                kind=kind,
                key=f"{ticket.number}:{key}",
                ticket=ticket,
                status_token=self._tokens.token_for(ticket.id),
                data=dict(data),
            )
            for ticket, kind, key, data in events
            if kind in announce
        ]
        if notices:
            await self._notices(session, notices, now)


async def _insert_sla_events(
    session: AsyncSession,
    events: Sequence[tuple[Ticket, str, str, dict[str, object]]],
    now: datetime,
) -> None:
    """The events as rows of ``ticket_event``, by Core on the session's connection: an ORM
    bulk insert costs more in Python than the rows cost the database. On PostgreSQL one
    statement takes the batch as arrays (``unnest``): one plan, one round trip, no per-row
    parameter processing. SQLite runs in-process and keeps executemany."""
    connection = await session.connection()
    if connection.dialect.name != "postgresql":
        await connection.execute(
            insert(TicketEventRow),
            [
                {
                    "ticket_id": ticket.id,
                    "kind": kind,
                    "actor": "sla",
                    "data": {"key": key, **data},
                    "created_at": now,
                }
                for ticket, kind, key, data in events
            ],
        )
        return
    # JSON travels as text and is cast per row: asyncpg has no codec for an array of JSONB.
    statement = text(
        "INSERT INTO ticket_event (ticket_id, kind, actor, data, created_at) "
        "SELECT v.ticket_id, v.kind, 'sla', CAST(v.data AS JSONB), CAST(:at AS TIMESTAMPTZ) "
        "FROM unnest(CAST(:ticket_id AS BIGINT[]), CAST(:kind AS TEXT[]), CAST(:data AS TEXT[]))"
        " AS v(ticket_id, kind, data)"
    )
    await connection.execute(
        statement,
        {
            "ticket_id": [ticket.id for ticket, _, _, _ in events],
            "kind": [kind for _, kind, _, _ in events],
            "data": [json.dumps({"key": key, **data}) for _, _, key, data in events],
            "at": now,
        },
    )
