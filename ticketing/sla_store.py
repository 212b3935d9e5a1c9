"""The SQL of the SLA part: ``ticket_sla`` rows in and out, inside a caller-owned transaction.

Core statements throughout: the escalator's tick and the recompute handle many rows at once,
and always read what the transaction wrote (no identity-map staleness). The ticket's own due
columns are written here too, and any loaded ``TicketRow`` is kept in step with them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from operator import attrgetter
from typing import Any, NamedTuple, cast

from sqlalchemy import Select, Table, and_, bindparam, not_, or_, select, type_coerce, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from ticketing.domain import (
    ChannelKind,
    Contact,
    Priority,
    ReplyAddress,
    Status,
    Ticket,
    TicketType,
)
from ticketing.models import ContactRow, IdentityRow, TicketRow, UTCDateTime
from ticketing.rows_sla import TicketSlaRow
from ticketing.sla_bulk import update_many

SLA = cast("Table", TicketSlaRow.__table__)
TICKET = cast("Table", TicketRow.__table__)
CONTACT = cast("Table", ContactRow.__table__)
_STATE_COLUMNS = tuple(c.name for c in SLA.c if c.name not in {"ticket_id", "updated_at"})


class SlaRecord(NamedTuple):
    """One ``ticket_sla`` row, plus the due times the ticket shows.

    A named tuple rather than a frozen dataclass: a tick or a recompute builds, compares and
    copies hundreds of them, and a tuple does each several times faster. Build it by keyword.
    """

    ticket_id: int
    agreement: str
    calendar: str
    policy_hash: str
    registered_at: datetime
    last_status: str
    reaction_target_s: float | None = None
    resolution_target_s: float | None = None
    reaction_stopped_at: datetime | None = None
    first_reaction_business_s: float | None = None
    resolution_business_s: float | None = None
    resolution_banked_s: float = 0.0
    resolution_running_since: datetime | None = None
    waiting_since: datetime | None = None
    resolved_since: datetime | None = None
    reaction_breached: bool = False
    resolution_breached: bool = False
    fired: tuple[str, ...] = ()
    next_event_at: datetime | None = None
    next_event_kind: str | None = None
    reaction_due_at: datetime | None = None
    resolution_due_at: datetime | None = None


def _postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


_LABELLED = tuple((name, f"sla_{name}") for name in _STATE_COLUMNS)


def _record(row: Any) -> SlaRecord:
    values = {name: getattr(row, label) for name, label in _LABELLED}
    values["fired"] = tuple(values["fired"] or ())
    return SlaRecord(
        ticket_id=row.sla_ticket_id,
        reaction_due_at=row.reaction_due_at,
        resolution_due_at=row.resolution_due_at,
        **values,
    )


# What the escalator does not look at: the dedup fingerprint (JSON) and the token hash.
_TICKET_UNUSED = frozenset({"fingerprint", "status_token_hash"})
_TICKET_COLUMNS = tuple(c.name for c in TICKET.c if c.name not in _TICKET_UNUSED)
_CONTACT_COLUMNS = ("name", "locale", "timezone", "company", "department", "vip")
# Positions in a row of :func:`_with_tickets`: the SLA row's key, its state, the ticket, then
# the requester.
_TICKET_AT = 1 + len(_STATE_COLUMNS)
_CONTACT_AT = _TICKET_AT + len(_TICKET_COLUMNS)


def _native(column: Any, postgres: bool) -> Any:
    """``column`` read without its ``UTCDateTime`` result processing on PostgreSQL, where
    asyncpg already hands back aware UTC datetimes (SQLite hands back text, which needs it)."""
    if postgres and isinstance(column.type, UTCDateTime):
        return type_coerce(column, UTCDateTime.impl).label(column.name)
    return column


def _with_tickets(postgres: bool) -> Select[Any]:
    """``ticket_sla`` (key, state) joined with its ticket and requester, in the order
    :func:`_pairs` reads them by position."""
    return (
        select(
            SLA.c.ticket_id,
            *(_native(SLA.c[name], postgres) for name in _STATE_COLUMNS),
            *(_native(TICKET.c[name], postgres) for name in _TICKET_COLUMNS),
            *(CONTACT.c[name] for name in _CONTACT_COLUMNS),
        )
        .join(TICKET, TICKET.c.id == SLA.c.ticket_id)
        .join(CONTACT, CONTACT.c.id == TICKET.c.requester_id)
    )


def _pairs(rows: Sequence[Any]) -> list[tuple[SlaRecord, Ticket]]:
    """Rows of :func:`_with_tickets` as (record, ticket), read by position: a tick converts
    hundreds of sixty-column rows, and attribute lookups on a ``Row`` cost more than this."""
    pairs = []
    for row in rows:
        values = tuple(row)
        state = dict(zip(_STATE_COLUMNS, values[1:_TICKET_AT], strict=True))
        state["fired"] = tuple(state["fired"] or ())
        ticket = dict(zip(_TICKET_COLUMNS, values[_TICKET_AT:_CONTACT_AT], strict=True))
        record = SlaRecord(
            ticket_id=values[0],
            reaction_due_at=ticket["reaction_due_at"],
            resolution_due_at=ticket["resolution_due_at"],
            **state,
        )
        pairs.append((record, _ticket(ticket, values[_CONTACT_AT:])))
    return pairs


# Enum members by value: a lookup, where calling the enum costs several times more.
_TYPES = {member.value: member for member in TicketType}
_PRIORITIES = {member.value: member for member in Priority}
_STATUSES = {member.value: member for member in Status}
_CHANNELS = {member.value: member for member in ChannelKind}


def _ticket(row: Mapping[str, Any], requester: Sequence[Any]) -> Ticket:
    """The ticket from its selected columns and its requester's, as
    :func:`~ticketing.repository.ticket_from_row` maps them (a test holds the two equal)."""
    name, locale, timezone, company, department, vip = requester
    reply_channel, reply_address = row["reply_channel"], row["reply_address"]
    return Ticket(
        id=row["id"],
        number=row["id"],
        subject=row["subject"],
        type=_TYPES[row["type"]],
        priority=_PRIORITIES[row["priority"]],
        status=_STATUSES[row["status"]],
        requester=Contact(
            id=row["requester_id"],
            name=name,
            locale=locale,
            timezone=timezone,
            company=company,
            department=department,
            vip=vip,
        ),
        origin_channel=_CHANNELS[row["origin_channel"]],
        reply_to=ReplyAddress(
            channel=_CHANNELS[reply_channel],
            address=reply_address,
            thread_hint=row["reply_thread_hint"],
        )
        if reply_channel and reply_address
        else None,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        service=row["service"],
        category=row["category"],
        tags=tuple(row["tags"] or ()),
        impact=row["impact"],
        urgency=row["urgency"],
        team=row["team"],
        assignee=row["assignee"],
        classified=row["classified"],
        reaction_due_at=row["reaction_due_at"],
        resolution_due_at=row["resolution_due_at"],
        first_reaction_at=row["first_reaction_at"],
        resolved_at=row["resolved_at"],
        closed_at=row["closed_at"],
        rating=row["rating"],
        rating_comment=row["rating_comment"],
        duplicate_of=row["duplicate_of_id"],
        parent_number=row["parent_id"],
    )


async def load(session: AsyncSession, ticket_ids: Collection[int]) -> dict[int, SlaRecord]:
    """The SLA rows of these tickets (those that have one)."""
    if not ticket_ids:
        return {}
    stmt = (
        select(
            *(c.label(f"sla_{c.name}") for c in SLA.c),
            TICKET.c.reaction_due_at,
            TICKET.c.resolution_due_at,
        )
        .join(TICKET, TICKET.c.id == SLA.c.ticket_id)
        .where(SLA.c.ticket_id.in_(list(ticket_ids)))
    )
    return {row.sla_ticket_id: _record(row) for row in await session.execute(stmt)}


# What a timer firing changes; a row whose other columns stay put gets a narrower UPDATE.
_TIMER_COLUMNS = (
    "fired",
    "reaction_breached",
    "resolution_breached",
    "next_event_at",
    "next_event_kind",
)
_STEADY_COLUMNS = tuple(name for name in _STATE_COLUMNS if name not in _TIMER_COLUMNS)
_steady = attrgetter(*_STEADY_COLUMNS)


async def save(
    session: AsyncSession,
    records: Sequence[SlaRecord],
    now: datetime,
    *,
    before: Mapping[int, SlaRecord] | None = None,
) -> None:
    """Write the rows (insert or update) and the tickets' due times.

    ``before``: the rows as they were read in this transaction. Unchanged rows are skipped,
    rows where only the timer columns changed get a narrow UPDATE, and tickets whose due times
    stayed are not touched: a tick or a recompute writes hundreds of rows at once.
    """
    before = before or {}
    new, full, timers, changed = [], [], [], []
    for record in records:
        old = before.get(record.ticket_id)
        if old == record:
            continue
        if old is None:
            new.append(record)
        elif _steady(old) != _steady(record):
            full.append(record)
        else:
            timers.append(record)
        if old is None or (old.reaction_due_at, old.resolution_due_at) != (
            record.reaction_due_at,
            record.resolution_due_at,
        ):
            changed.append(record)
    # Core on the session's connection: flush first, as session.execute would (autoflush).
    await session.flush()
    connection = await session.connection()
    if new:
        # Not read before (a new ticket, or the caller did not look): insert or update.
        await connection.execute(
            _upsert(session.get_bind().dialect.name), [_plain(r, _STATE_COLUMNS, now) for r in new]
        )
    postgres = _postgres(session)
    for statement, rows, columns in (
        (_FULL_UPDATE, full, _STATE_COLUMNS),
        (_TIMER_UPDATE, timers, _TIMER_COLUMNS),
    ):
        if rows and postgres:
            await update_many(connection, SLA, "ticket_id", _arrays(rows, columns, now))
        elif rows:
            await connection.execute(statement, [_bound(r, columns, now) for r in rows])
    await _show_due_times(session, changed)


def _arrays(
    records: Sequence[SlaRecord], columns: Sequence[str], now: datetime
) -> dict[str, list[Any]]:
    """The records column by column (for :func:`~ticketing.sla_bulk.update_many`)."""
    arrays: dict[str, list[Any]] = {
        name: list(map(attrgetter(name), records)) for name in ("ticket_id", *columns)
    }
    arrays["fired"] = [list(fired) for fired in arrays["fired"]]
    arrays["updated_at"] = [now] * len(records)
    return arrays


def _plain(record: SlaRecord, columns: Sequence[str], now: datetime) -> dict[str, Any]:
    params = {name: getattr(record, name) for name in columns}
    params["fired"] = list(record.fired)
    params["updated_at"] = now
    params["ticket_id"] = record.ticket_id
    return params


def _bound(record: SlaRecord, columns: Sequence[str], now: datetime) -> dict[str, Any]:
    params = {f"b_{name}": getattr(record, name) for name in columns}
    params["b_fired"] = list(record.fired)
    params["b_updated_at"] = now
    params["b_ticket_id"] = record.ticket_id
    return params


def _update_of(columns: Sequence[str]) -> Any:
    # Bound names differ from the column names: SQLAlchemy keeps those for itself in a SET.
    return (
        update(SLA)
        .where(SLA.c.ticket_id == bindparam("b_ticket_id"))
        .values(
            {
                name: bindparam(f"b_{name}", type_=SLA.c[name].type)
                for name in (*columns, "updated_at")
            }
        )
    )


# Rows already there get a plain UPDATE (cheaper than INSERT … ON CONFLICT on PostgreSQL).
_FULL_UPDATE = _update_of(_STATE_COLUMNS)
_TIMER_UPDATE = _update_of(_TIMER_COLUMNS)


_UPSERTS: dict[str, Any] = {}


def _upsert(dialect: str) -> Any:
    """INSERT … ON CONFLICT DO UPDATE of every state column, built once per dialect (building
    its ``excluded`` columns costs more than running it)."""
    stmt = _UPSERTS.get(dialect)
    if stmt is None:
        insert = (pg_insert if dialect == "postgresql" else sqlite_insert)(SLA)
        stmt = _UPSERTS[dialect] = insert.on_conflict_do_update(
            index_elements=["ticket_id"],
            set_={name: insert.excluded[name] for name in (*_STATE_COLUMNS, "updated_at")},
        )
    return stmt


async def _show_due_times(session: AsyncSession, records: Sequence[SlaRecord]) -> None:
    if not records:
        return
    if _postgres(session):
        due: dict[str, list[Any]] = {
            "id": [r.ticket_id for r in records],
            "reaction_due_at": [r.reaction_due_at for r in records],
            "resolution_due_at": [r.resolution_due_at for r in records],
        }
        await update_many(await session.connection(), TICKET, "id", due)
    else:
        await session.execute(
            update(TICKET)
            .where(TICKET.c.id == bindparam("b_id"))
            .values(
                reaction_due_at=bindparam("b_reaction"),
                resolution_due_at=bindparam("b_resolution"),
            ),
            [
                {
                    "b_id": r.ticket_id,
                    "b_reaction": r.reaction_due_at,
                    "b_resolution": r.resolution_due_at,
                }
                for r in records
            ],
            execution_options={"synchronize_session": False},
        )
    # A TicketRow the caller holds must not show (or later flush) the old values.
    identity_map = session.sync_session.identity_map
    if not len(identity_map):
        return  # the escalator and the recompute hold none
    for r in records:
        row = identity_map.get(identity_key(TicketRow, r.ticket_id))
        if row is not None:
            set_committed_value(row, "reaction_due_at", r.reaction_due_at)
            set_committed_value(row, "resolution_due_at", r.resolution_due_at)


async def claim_due(
    session: AsyncSession, now: datetime, limit: int
) -> list[tuple[SlaRecord, Ticket]]:
    """Lock and return up to ``limit`` rows whose next timer is due by ``now``, earliest first.

    On PostgreSQL rows (and tickets) another transaction holds are skipped, never waited for:
    two escalators never take the same row, and a ticket an agent is changing right now is
    left for the next tick. SQLite has one writer, so a plain read inside it is enough.
    """
    dialect = session.get_bind().dialect.name
    stmt = _CLAIMS.get((dialect, limit))
    if stmt is None:
        # Built once: a tick runs every few seconds, and building and hashing a statement of
        # sixty columns costs more than running it.
        stmt = (
            _with_tickets(dialect == "postgresql")
            .where(SLA.c.next_event_at <= bindparam("now"))
            .order_by(SLA.c.next_event_at)
            .limit(limit)
        )
        if dialect == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True, of=[SLA, TICKET])
        _CLAIMS[(dialect, limit)] = stmt
    connection = await session.connection()
    return _pairs((await connection.execute(stmt, {"now": now})).all())


_CLAIMS: dict[tuple[str, int], Select[Any]] = {}


async def stale(
    session: AsyncSession, current: Mapping[str, str], *, after: int, limit: int
) -> list[tuple[SlaRecord, Ticket]]:
    """Unclosed tickets (ids above ``after``, ascending) computed with another policy than
    ``current`` (agreement id → policy hash), locked like :func:`claim_due`."""
    up_to_date = or_(
        *(and_(SLA.c.agreement == a, SLA.c.policy_hash == h) for a, h in current.items())
    )
    postgres = _postgres(session)
    stmt = (
        _with_tickets(postgres)
        .where(
            SLA.c.ticket_id > after,
            TICKET.c.status != Status.CLOSED.value,
            not_(up_to_date),
        )
        .order_by(SLA.c.ticket_id)
        .limit(limit)
    )
    if postgres:
        stmt = stmt.with_for_update(skip_locked=True, of=[SLA, TICKET])
    connection = await session.connection()
    return _pairs((await connection.execute(stmt)).all())


async def identity_values(
    session: AsyncSession, contact_ids: Collection[int]
) -> dict[int, list[str]]:
    """The identity values (e-mail, phone, Telegram id) of each contact."""
    if not contact_ids:
        return {}
    rows = await session.execute(
        select(IdentityRow.contact_id, IdentityRow.value).where(
            IdentityRow.contact_id.in_(list(contact_ids))
        )
    )
    found: dict[int, list[str]] = {}
    for contact_id, value in rows:
        found.setdefault(contact_id, []).append(value)
    return found
