"""Reads and writes tickets and contacts inside a caller-owned transaction; returns domain objects.

The repository never commits: callers wrap it in ``async with sessionmaker.begin()``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, Select, Table, delete, func, insert, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached, selectinload

from ticketing import held
from ticketing.domain import (
    OPEN_STATUSES,
    Attachment,
    AuthorKind,
    ChannelKind,
    Comment,
    Contact,
    Identity,
    IdentityKind,
    Priority,
    ReplyAddress,
    Status,
    Ticket,
    TicketDetail,
    TicketEvent,
    TicketType,
)
from ticketing.models import (
    AttachmentRow,
    CommentRow,
    ContactRow,
    IdentityRow,
    TicketEventRow,
    TicketRow,
)

# The tables, for Core statements on the hot path.
_CONTACT = cast("Table", ContactRow.__table__)
_IDENTITY = cast("Table", IdentityRow.__table__)
_TICKET = cast("Table", TicketRow.__table__)


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketFilter:
    status: Sequence[Status] = ()
    priority: Sequence[Priority] = ()
    channel: ChannelKind | None = None
    requester_id: int | None = None
    assignee: str | None = None
    team: str | None = None
    service: str | None = None
    before_number: int | None = None
    limit: int = 50


def contact_from_row(
    row: ContactRow | Row[Any], identities: Sequence[IdentityRow] = ()
) -> Contact:
    """The contact from its ORM row or from a row of selected contact columns."""
    return Contact(
        id=row.id,
        name=row.name,
        locale=row.locale,
        timezone=row.timezone,
        company=row.company,
        department=row.department,
        vip=row.vip,
        identities=tuple(Identity(kind=IdentityKind(i.kind), value=i.value) for i in identities),
    )


def ticket_from_row(row: TicketRow, requester: Contact) -> Ticket:
    reply = (
        ReplyAddress(
            channel=ChannelKind(row.reply_channel),
            address=row.reply_address,
            thread_hint=row.reply_thread_hint,
        )
        if row.reply_channel and row.reply_address
        else None
    )
    return Ticket(
        id=row.id,
        number=row.id,
        subject=row.subject,
        type=TicketType(row.type),
        priority=Priority(row.priority),
        status=Status(row.status),
        requester=requester,
        origin_channel=ChannelKind(row.origin_channel),
        reply_to=reply,
        created_at=row.created_at,
        updated_at=row.updated_at,
        service=row.service,
        category=row.category,
        tags=tuple(row.tags or ()),
        impact=row.impact,
        urgency=row.urgency,
        team=row.team,
        assignee=row.assignee,
        classified=row.classified,
        reaction_due_at=row.reaction_due_at,
        resolution_due_at=row.resolution_due_at,
        first_reaction_at=row.first_reaction_at,
        resolved_at=row.resolved_at,
        closed_at=row.closed_at,
        rating=row.rating,
        rating_comment=row.rating_comment,
        duplicate_of=row.duplicate_of_id,
        parent_number=row.parent_id,
    )


def comment_from_row(row: CommentRow) -> Comment:
    return Comment(
        id=row.id,
        ticket_id=row.ticket_id,
        author_kind=AuthorKind(row.author_kind),
        author_name=row.author_name,
        public=row.public,
        body=row.body,
        channel=ChannelKind(row.channel) if row.channel else None,
        created_at=row.created_at,
        attachments=tuple(
            Attachment(
                sha256=a.sha256, filename=a.filename, content_type=a.content_type, size=a.size
            )
            for a in row.attachments
        ),
    )


def _with_requester(stmt: Select[TicketRow]) -> Select[TicketRow]:
    return stmt.options(selectinload(TicketRow.requester))


class TicketRepository:
    """Ticket and contact queries bound to one session (one transaction)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- contacts ---------------------------------------------------------------------------

    async def contact_by_identity(self, kind: IdentityKind, value: str) -> ContactRow | None:
        stmt = (
            select(ContactRow)
            .join(IdentityRow, IdentityRow.contact_id == ContactRow.id)
            .where(IdentityRow.kind == kind.value, IdentityRow.value == value)
        )
        return (await self.session.scalars(stmt)).first()

    async def contacts_by_identities(
        self, keys: Collection[tuple[str, str]]
    ) -> dict[tuple[str, str], Contact]:
        """The owner of each of the given (kind, value) identities that somebody owns."""
        if not keys:
            return {}
        identity, contact = _IDENTITY, _CONTACT
        stmt = (
            select(identity.c.kind, identity.c.value, *contact.c)
            .join(contact, contact.c.id == identity.c.contact_id)
            .where(tuple_(identity.c.kind, identity.c.value).in_(list(keys)))
        )
        rows = await self.session.execute(stmt)
        return {(row.kind, row.value): contact_from_row(row) for row in rows}

    async def add_contacts(self, contacts: Sequence[dict[str, Any]]) -> list[int]:
        """Insert contacts (column values); their ids, in the same order."""
        table = _CONTACT
        if len(contacts) > 1 and self.session.get_bind().dialect.name == "sqlite":
            # SQLite does not promise RETURNING's order for a multi-row insert, so SQLAlchemy
            # would insert row by row. It has one writer at a time (Database's write lock), so
            # the ids can be chosen here: a second process writing meanwhile makes the insert
            # fail rather than collide (as for ticket ids, ticketing.held).
            top = await self.session.scalar(select(func.max(table.c.id)))
            ids = list(range((top or 0) + 1, (top or 0) + 1 + len(contacts)))
            rows = [{**values, "id": new_id} for new_id, values in zip(ids, contacts, strict=True)]
            await self.session.execute(insert(table), rows)
            return ids
        stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        params = list(contacts) if len(contacts) > 1 else contacts[0]
        return list((await self.session.execute(stmt, params)).scalars())

    async def link_identities(self, links: Sequence[tuple[int, Identity]]) -> set[tuple[str, str]]:
        """Give each identity to its contact unless somebody owns it; the (kind, value) linked."""
        if not links:
            return set()
        table = _IDENTITY
        dialect = self.session.get_bind().dialect.name
        stmt = (
            (pg_insert if dialect == "postgresql" else sqlite_insert)(table)
            .on_conflict_do_nothing(index_elements=["kind", "value"])
            .returning(table.c.kind, table.c.value)
        )
        params = [
            {
                "contact_id": contact_id,
                "kind": identity.kind.value,
                "value": identity.value,
                "verified": identity.kind is IdentityKind.TELEGRAM,
                "unreachable": False,
            }
            for contact_id, identity in links
        ]
        result = await self.session.execute(stmt, params if len(params) > 1 else params[0])
        return {(kind, value) for kind, value in result}

    async def rename_contact(self, contact_id: int, name: str) -> None:
        await self.session.execute(
            update(_CONTACT).where(ContactRow.id == contact_id).values(name=name)
        )

    async def delete_contact(self, contact_id: int) -> None:
        await self.session.execute(delete(_CONTACT).where(ContactRow.id == contact_id))

    async def contact(self, contact_id: int) -> Contact:
        row = await self.session.get_one(ContactRow, contact_id)
        identities = (
            await self.session.scalars(
                select(IdentityRow).where(IdentityRow.contact_id == contact_id)
            )
        ).all()
        return contact_from_row(row, identities)

    # -- tickets ----------------------------------------------------------------------------

    async def row(self, number: int, *, for_update: bool = False) -> TicketRow | None:
        await held.write_if(self.session, lambda ticket: ticket["id"] == number)
        stmt = _with_requester(select(TicketRow).where(TicketRow.id == number))
        if for_update:
            stmt = stmt.with_for_update(of=TicketRow)
        return (await self.session.scalars(stmt)).first()

    async def get(self, number: int) -> Ticket | None:
        row = await self.row(number)
        return None if row is None else ticket_from_row(row, contact_from_row(row.requester))

    async def row_by_status_hash(self, token_hash: str) -> TicketRow | None:
        await held.write_if(self.session, lambda ticket: ticket["status_token_hash"] == token_hash)
        stmt = _with_requester(select(TicketRow).where(TicketRow.status_token_hash == token_hash))
        return (await self.session.scalars(stmt)).first()

    async def open_rows_of(self, requester_id: int, since: datetime) -> Sequence[TicketRow]:
        """The requester's open tickets created since ``since``, newest first."""
        await held.write_if(self.session, lambda ticket: ticket["requester_id"] == requester_id)
        stmt = (
            select(TicketRow)
            .where(
                TicketRow.requester_id == requester_id,
                TicketRow.status.in_([s.value for s in OPEN_STATUSES]),
                TicketRow.created_at >= since,
            )
            .order_by(TicketRow.id.desc())
            .limit(20)
        )
        return (await self.session.scalars(stmt)).all()

    async def open_counts(self, assignees: Sequence[str]) -> dict[str, int]:
        if not assignees:
            return {}
        await held.write_if(self.session, lambda ticket: ticket["assignee"] in assignees)
        stmt = (
            select(TicketRow.assignee, func.count())
            .where(
                TicketRow.assignee.in_(assignees),
                TicketRow.status.in_([s.value for s in OPEN_STATUSES]),
            )
            .group_by(TicketRow.assignee)
        )
        return {name: count for name, count in (await self.session.execute(stmt)).all() if name}

    async def list(self, flt: TicketFilter) -> list[Ticket]:
        await held.write(self.session)
        stmt = _with_requester(select(TicketRow)).order_by(TicketRow.id.desc()).limit(flt.limit)
        if flt.status:
            stmt = stmt.where(TicketRow.status.in_([s.value for s in flt.status]))
        if flt.priority:
            stmt = stmt.where(TicketRow.priority.in_([p.value for p in flt.priority]))
        conditions: dict[str, Any] = {
            "origin_channel": flt.channel.value if flt.channel else None,
            "requester_id": flt.requester_id,
            "assignee": flt.assignee,
            "team": flt.team,
            "service": flt.service,
        }
        for column, value in conditions.items():
            if value is not None:
                stmt = stmt.where(getattr(TicketRow, column) == value)
        if flt.before_number is not None:
            stmt = stmt.where(TicketRow.id < flt.before_number)
        rows = (await self.session.scalars(stmt)).all()
        return [ticket_from_row(r, contact_from_row(r.requester)) for r in rows]

    async def detail(self, number: int, *, public_only: bool) -> TicketDetail | None:
        await held.write(self.session)
        row = await self.row(number)
        if row is None:
            return None
        ticket = ticket_from_row(row, await self.contact(row.requester_id))
        comment_stmt = (
            select(CommentRow)
            .where(CommentRow.ticket_id == number)
            .options(selectinload(CommentRow.attachments))
            .order_by(CommentRow.id)
        )
        if public_only:
            comment_stmt = comment_stmt.where(CommentRow.public.is_(True))
        comments = (await self.session.scalars(comment_stmt)).all()
        events: tuple[TicketEvent, ...] = ()
        if not public_only:
            event_rows = (
                await self.session.scalars(
                    select(TicketEventRow)
                    .where(TicketEventRow.ticket_id == number)
                    .order_by(TicketEventRow.id)
                )
            ).all()
            events = tuple(
                TicketEvent(
                    id=e.id,
                    ticket_id=e.ticket_id,
                    kind=e.kind,
                    data=dict(e.data),
                    actor=e.actor,
                    created_at=e.created_at,
                )
                for e in event_rows
            )
        return TicketDetail(
            ticket=ticket, comments=tuple(comment_from_row(c) for c in comments), events=events
        )

    # -- writes -----------------------------------------------------------------------------

    async def insert_ticket(self, values: dict[str, Any]) -> TicketRow:
        """Insert a ticket at once (its id is the number) and return it as a session row.

        A Core INSERT … RETURNING of every column, adopted into the session as if loaded:
        later changes to the row go out with the session's next flush, like any other.
        """
        table = _TICKET
        inserted = (await self.session.execute(insert(table).returning(*table.c), values)).one()
        row = TicketRow(**inserted._asdict())
        make_transient_to_detached(row)
        self.session.add(row)
        return row

    def add_event(
        self, ticket_id: int, kind: str, actor: str, now: datetime, **data: Any
    ) -> TicketEventRow:
        row = TicketEventRow(
            ticket_id=ticket_id, kind=kind, actor=actor, data=data, created_at=now
        )
        self.session.add(row)
        return row

    def add_comment(
        self,
        *,
        ticket_id: int,
        author_kind: AuthorKind,
        author_name: str,
        public: bool,
        body: str,
        channel: ChannelKind | None,
        now: datetime,
        inbound_id: int | None = None,
        attachments: Sequence[Attachment] = (),
    ) -> CommentRow:
        row = CommentRow(
            ticket_id=ticket_id,
            author_kind=author_kind.value,
            author_name=author_name,
            public=public,
            body=body,
            channel=channel.value if channel else None,
            inbound_id=inbound_id,
            created_at=now,
            attachments=[
                AttachmentRow(
                    sha256=a.sha256, filename=a.filename, content_type=a.content_type, size=a.size
                )
                for a in attachments
            ],
        )
        self.session.add(row)
        return row
