"""SQL of the Telegram part, inside caller-owned transactions (never commits).

Returns plain frozen dataclasses, so no ORM row leaves the ticketing package.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, exists, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from ticketing.domain import IdentityKind
from ticketing.models import CommentRow, ContactRow, IdentityRow, InboundMessageRow, OutboxRow
from ticketing.rows_telegram import (
    TelegramAgentRow,
    TelegramAlbumPartRow,
    TelegramCardRow,
    TelegramDeskJobRow,
    TelegramMessageRow,
    TelegramUpdateRow,
)

_MAX_ERROR = 2000


@dataclass(frozen=True, slots=True, kw_only=True)
class Card:
    """Where a ticket's card and topic are in the agents' group."""

    ticket_id: int
    chat_id: int
    thread_id: int | None
    card_message_id: int | None
    topic_closed: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Agent:
    """A registered agent."""

    user_id: int
    name: str  # what ``ticket.assignee`` holds: the @username, else "tg<id>"
    first_name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DeskJob:
    """Work for the agents' group about one ticket."""

    key: str
    ticket_id: int
    kind: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaimedJob:
    """A desk job taken by one worker for a lease."""

    id: int
    job: DeskJob
    attempts: int


def _insert(session: AsyncSession) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


# -- cards and the messages we sent ---------------------------------------------------------


async def card(session: AsyncSession, ticket_id: int) -> Card | None:
    """The ticket's card, or None before the desk made one."""
    row = await session.get(TelegramCardRow, ticket_id)
    if row is None:
        return None
    return Card(
        ticket_id=row.ticket_id,
        chat_id=row.chat_id,
        thread_id=row.thread_id,
        card_message_id=row.card_message_id,
        topic_closed=row.topic_closed,
    )


async def save_card(session: AsyncSession, new: Card, now: datetime) -> None:
    """Insert or update the ticket's card."""
    row = await session.get(TelegramCardRow, new.ticket_id)
    if row is None:
        row = TelegramCardRow(ticket_id=new.ticket_id, created_at=now)
        session.add(row)
    row.chat_id = new.chat_id
    row.thread_id = new.thread_id
    row.card_message_id = new.card_message_id
    row.topic_closed = new.topic_closed
    row.updated_at = now


async def ticket_by_thread(session: AsyncSession, chat_id: int, thread_id: int) -> int | None:
    """The ticket a forum topic belongs to."""
    stmt = select(TelegramCardRow.ticket_id).where(
        TelegramCardRow.chat_id == chat_id, TelegramCardRow.thread_id == thread_id
    )
    return (await session.scalars(stmt)).first()


async def ticket_by_message(session: AsyncSession, chat_id: int, message_id: int) -> int | None:
    """The ticket a message of ours (a card, a notice, a line) was about.

    A notification's first message is known by its outbox row's receipt (``chat:id``).
    """
    stmt = select(TelegramMessageRow.ticket_id).where(
        TelegramMessageRow.chat_id == chat_id, TelegramMessageRow.message_id == message_id
    )
    found = (await session.scalars(stmt)).first()
    if found is not None:
        return found
    receipt = select(OutboxRow.ticket_id).where(
        OutboxRow.channel == "telegram", OutboxRow.external_id == f"{chat_id}:{message_id}"
    )
    return (await session.scalars(receipt)).first()


async def remember_messages(
    session: AsyncSession,
    *,
    chat_id: int,
    message_ids: Sequence[int],
    ticket_id: int,
    kind: str,
    now: datetime,
) -> None:
    """Record messages the bot sent about a ticket (a duplicate is ignored)."""
    if not message_ids:
        return
    rows = [
        {
            "chat_id": chat_id,
            "message_id": m,
            "ticket_id": ticket_id,
            "kind": kind,
            "created_at": now,
        }
        for m in message_ids
    ]
    insert = _insert(session)
    await session.execute(insert(TelegramMessageRow).values(rows).on_conflict_do_nothing())


async def comment_of_inbound(
    session: AsyncSession, channel: str, external_id: str
) -> tuple[int, int] | None:
    """``(ticket, comment)`` a stored inbound message became, once it is routed."""
    stmt = (
        select(CommentRow.ticket_id, CommentRow.id)
        .join(InboundMessageRow, CommentRow.inbound_id == InboundMessageRow.id)
        .where(InboundMessageRow.channel == channel, InboundMessageRow.external_id == external_id)
    )
    found = (await session.execute(stmt)).first()
    return None if found is None else (found[0], found[1])


# -- agents -----------------------------------------------------------------------------------


async def register_agent(
    session: AsyncSession, *, user_id: int, username: str | None, first_name: str, now: datetime
) -> Agent:
    """Create or refresh an agent; their name is kept once given."""
    row = await session.get(TelegramAgentRow, user_id)
    if row is None:
        row = TelegramAgentRow(user_id=user_id, registered_at=now, name=username or f"tg{user_id}")
        session.add(row)
    row.username = username
    row.first_name = first_name[:200]
    row.seen_at = now
    await session.flush()
    return Agent(user_id=row.user_id, name=row.name, first_name=row.first_name)


async def agent_named(session: AsyncSession, name: str) -> Agent | None:
    """An agent by ``ticket.assignee`` name or @username (case-insensitive)."""
    name = name.removeprefix("@").lower()
    stmt = select(TelegramAgentRow).where(
        (func.lower(TelegramAgentRow.name) == name)
        | (func.lower(TelegramAgentRow.username) == name)
    )
    row = (await session.scalars(stmt)).first()
    return (
        None
        if row is None
        else Agent(user_id=row.user_id, name=row.name, first_name=row.first_name)
    )


# -- handled updates --------------------------------------------------------------------------


async def claim_update(session: AsyncSession, update_id: int, now: datetime) -> bool:
    """True the first time ``update_id`` is seen (within this transaction's commit)."""
    insert = _insert(session)
    result = cast(
        "CursorResult[Any]",
        await session.execute(
            insert(TelegramUpdateRow)
            .values(update_id=update_id, handled_at=now)
            .on_conflict_do_nothing()
        ),
    )
    return result.rowcount == 1


# -- identities -------------------------------------------------------------------------------


async def link_identity(
    session: AsyncSession, *, contact_id: int, kind: IdentityKind, value: str
) -> None:
    """Give ``contact_id`` this verified identity, taking it from whoever had it."""
    row = (
        await session.scalars(
            select(IdentityRow).where(IdentityRow.kind == kind.value, IdentityRow.value == value)
        )
    ).first()
    if row is None:
        row = IdentityRow(kind=kind.value, value=value, unreachable=False)
        session.add(row)
    row.contact_id = contact_id
    row.verified = True
    row.unreachable = False
    await session.flush()


async def ensure_telegram_contact(
    session: AsyncSession, *, user_id: int, name: str, locale: str, timezone: str, now: datetime
) -> int:
    """The contact of a Telegram user, created with its verified identity when new."""
    owner = (
        await session.scalars(
            select(IdentityRow.contact_id).where(
                IdentityRow.kind == IdentityKind.TELEGRAM.value, IdentityRow.value == str(user_id)
            )
        )
    ).first()
    if owner is not None:
        return owner
    contact = ContactRow(
        name=name[:200], locale=locale, timezone=timezone, vip=False, created_at=now
    )
    session.add(contact)
    await session.flush()
    await link_identity(
        session, contact_id=contact.id, kind=IdentityKind.TELEGRAM, value=str(user_id)
    )
    return contact.id


async def set_unreachable(
    session: AsyncSession, kind: IdentityKind, value: str, *, unreachable: bool
) -> int | None:
    """Flag an identity; returns its contact id (None when unknown)."""
    row = (
        await session.scalars(
            select(IdentityRow).where(IdentityRow.kind == kind.value, IdentityRow.value == value)
        )
    ).first()
    if row is None:
        return None
    row.unreachable = unreachable
    return row.contact_id


async def is_unreachable(session: AsyncSession, kind: IdentityKind, value: str) -> bool:
    """Whether an identity is flagged unreachable."""
    stmt = select(IdentityRow.unreachable).where(
        IdentityRow.kind == kind.value, IdentityRow.value == value
    )
    return bool((await session.scalars(stmt)).first())


async def identities_of(session: AsyncSession, contact_id: int) -> list[tuple[str, str, bool]]:
    """``(kind, value, unreachable)`` of a contact's identities."""
    rows = await session.scalars(select(IdentityRow).where(IdentityRow.contact_id == contact_id))
    return [(r.kind, r.value, r.unreachable) for r in rows]


# -- album parts ------------------------------------------------------------------------------


async def add_album_part(
    session: AsyncSession,
    *,
    chat_id: int,
    media_group_id: str,
    message_id: int,
    payload: dict[str, Any],
    now: datetime,
) -> None:
    """Keep one album part (a redelivered part is ignored)."""
    insert = _insert(session)
    values = {
        "chat_id": chat_id,
        "media_group_id": media_group_id,
        "message_id": message_id,
        "payload": payload,
        "flushed": False,
        "received_at": now,
    }
    await session.execute(insert(TelegramAlbumPartRow).values(values).on_conflict_do_nothing())


async def due_albums(session: AsyncSession, quiet_since: datetime) -> list[tuple[int, str]]:
    """Albums with parts waiting whose last part came before ``quiet_since``."""
    part = TelegramAlbumPartRow
    stmt = (
        select(part.chat_id, part.media_group_id)
        .where(part.flushed.is_(False))
        .group_by(part.chat_id, part.media_group_id)
        .having(func.max(part.received_at) <= quiet_since)
    )
    return [(chat, group) for chat, group in (await session.execute(stmt)).all()]


async def album_parts(
    session: AsyncSession, chat_id: int, media_group_id: str
) -> tuple[list[tuple[int, int, dict[str, Any]]], bool]:
    """The waiting parts ``(id, message id, payload)`` and whether an earlier batch went."""
    part = TelegramAlbumPartRow
    rows = (
        await session.scalars(
            select(part)
            .where(part.chat_id == chat_id, part.media_group_id == media_group_id)
            .order_by(part.message_id)
        )
    ).all()
    waiting = [(r.id, r.message_id, dict(r.payload)) for r in rows if not r.flushed]
    return waiting, any(r.flushed for r in rows)


async def mark_album_flushed(session: AsyncSession, ids: Sequence[int]) -> None:
    """The parts went into the inbox as one message."""
    if ids:
        await session.execute(
            update(TelegramAlbumPartRow)
            .where(TelegramAlbumPartRow.id.in_(ids))
            .values(flushed=True)
        )


# -- the agents' desk queue -------------------------------------------------------------------


async def add_jobs(session: AsyncSession, jobs: Sequence[DeskJob], now: datetime) -> None:
    """Queue desk work; a key already queued is ignored (planning twice sends once)."""
    if not jobs:
        return
    rows = [
        {
            "idempotency_key": j.key[:200],
            "ticket_id": j.ticket_id,
            "kind": j.kind,
            "data": j.data,
            "state": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for j in jobs
    ]
    insert = _insert(session)
    await session.execute(
        insert(TelegramDeskJobRow)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
    )


async def claim_jobs(
    session: AsyncSession, now: datetime, limit: int, lease: timedelta
) -> list[ClaimedJob]:
    """Take the oldest due job of up to ``limit`` tickets (one per ticket keeps their order).

    A claimed job stays ``pending`` with ``next_attempt_at`` pushed past the lease, so later
    jobs of its ticket wait behind it, here and in any other process.
    """
    job = TelegramDeskJobRow
    earlier = aliased(TelegramDeskJobRow)
    due = (
        select(job.id)
        .where(
            job.state == "pending",
            job.next_attempt_at <= now,
            ~exists().where(
                earlier.ticket_id == job.ticket_id, earlier.state == "pending", earlier.id < job.id
            ),
        )
        .order_by(job.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(of=job, skip_locked=True)
    ids = list(await session.scalars(due))
    if not ids:
        return []
    rows = await session.scalars(
        update(job)
        .where(job.id.in_(ids))
        .values(attempts=job.attempts + 1, next_attempt_at=now + lease)
        .returning(job),
        execution_options={"synchronize_session": False},
    )
    return sorted(
        (
            ClaimedJob(
                id=r.id,
                attempts=r.attempts,
                job=DeskJob(
                    key=r.idempotency_key, ticket_id=r.ticket_id, kind=r.kind, data=dict(r.data)
                ),
            )
            for r in rows
        ),
        key=lambda c: c.id,
    )


async def settle_job(
    session: AsyncSession,
    job_id: int,
    *,
    state: str,
    now: datetime,
    error: str | None = None,
    retry_at: datetime | None = None,
) -> None:
    """``done``, ``failed``, or back to ``pending`` (due at ``retry_at``)."""
    values: dict[str, Any] = {"state": state, "last_error": error[:_MAX_ERROR] if error else None}
    if state == "pending":
        values["next_attempt_at"] = retry_at or now
    else:
        values["done_at"] = now
    await session.execute(
        update(TelegramDeskJobRow).where(TelegramDeskJobRow.id == job_id).values(**values)
    )
