"""Notify fixtures: catalogs read from the .po sources, and one outbox per backend.

``outbox`` is parametrised over the in-memory twin, SQLite (a temp file) and PostgreSQL (a
throw-away schema in ``OKNO_TEST_DATABASE_URL``, so nothing else in that database is touched).
PostgreSQL is the suite's (tests/conftest.py) in every run: never skipped, and a database that
cannot be reached fails.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from notify.i18n import LOCALES_DIR, SUPPORTED_LOCALES, Catalogs
from notify.outbox import MemoryOutboxStore, OutboxStore
from notify.render import Renderer
from tests.conftest import ADMIN_PG_URL
from ticketing.db import DatabaseSettings, create_engine, create_sessionmaker
from ticketing.domain import ChannelKind, OutboxEntry, ReplyAddress
from ticketing.models import Base, ContactRow, OutboxRow, TicketEventRow, TicketRow
from ticketing.outbox import SqlOutboxStore, add_entries

START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)


@pytest.fixture(scope="session")
def catalogs(tmp_path_factory: pytest.TempPathFactory) -> Catalogs:
    """The catalogs as the .po files say, whether or not a (maybe stale) .mo was compiled."""
    directory = tmp_path_factory.mktemp("locales")
    for locale in SUPPORTED_LOCALES:
        source = LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po"
        target = directory / locale / "LC_MESSAGES"
        target.mkdir(parents=True)
        shutil.copyfile(source, target / "messages.po")
    return Catalogs(directory)


@pytest.fixture(scope="session")
def renderer(catalogs: Catalogs) -> Renderer:
    return Renderer(catalogs, default_locale="ru", default_timezone="Europe/Moscow")


class Clock:
    """The injected ``now``: moves only when a test moves it."""

    def __init__(self, start: datetime = START) -> None:
        self.value = start

    def __call__(self) -> datetime:
        return self.value

    def advance(self, delta: timedelta) -> None:
        self.value += delta


@pytest.fixture
def clock() -> Clock:
    return Clock()


@dataclass(frozen=True, slots=True, kw_only=True)
class RowView:
    """The columns tests look at, read the same way from every backend."""

    state: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    external_id: str | None
    sent_at: datetime | None


class OutboxBackend(Protocol):
    name: str
    store: OutboxStore

    async def new_ticket(self) -> int: ...
    async def add(self, entries: Sequence[OutboxEntry], now: datetime) -> int: ...
    async def row(self, idempotency_key: str) -> RowView: ...
    async def events(self) -> list[tuple[int, str, dict[str, Any]]]: ...
    async def second_store(self) -> OutboxStore:
        """Another store on its own connections, as a second dispatcher process would have."""
        ...


class MemoryBackend:
    name = "memory"

    def __init__(self) -> None:
        self._memory = MemoryOutboxStore(lease=LEASE)
        self.store: OutboxStore = self._memory
        self._tickets = 0

    async def new_ticket(self) -> int:
        self._tickets += 1
        return self._tickets

    async def add(self, entries: Sequence[OutboxEntry], now: datetime) -> int:
        return await self._memory.add_entries(entries, now)

    async def row(self, idempotency_key: str) -> RowView:
        (row,) = (
            r for r in self._memory.rows.values() if r.entry.idempotency_key == idempotency_key
        )
        return RowView(
            state=row.state,
            attempts=row.attempts,
            next_attempt_at=row.next_attempt_at,
            last_error=row.last_error,
            external_id=row.external_id,
            sent_at=row.sent_at,
        )

    async def events(self) -> list[tuple[int, str, dict[str, Any]]]:
        return list(self._memory.events)

    async def second_store(self) -> OutboxStore:
        return self._memory


class SqlBackend:
    def __init__(self, name: str, make_engine: Callable[[], AsyncEngine]) -> None:
        self.name = name
        self._make_engine = make_engine
        self.engine = make_engine()
        self._sessionmaker = create_sessionmaker(self.engine)
        self.store: OutboxStore = SqlOutboxStore(self._sessionmaker.begin, lease=LEASE)
        self._engines = [self.engine]

    async def new_ticket(self) -> int:
        async with self._sessionmaker.begin() as session:
            contact = ContactRow(
                name="Иван", locale="ru", timezone="Europe/Moscow", created_at=START
            )
            session.add(contact)
            await session.flush()
            ticket = TicketRow(
                subject="Не работает принтер",
                type="incident",
                priority="high",
                status="new",
                requester_id=contact.id,
                origin_channel="telegram",
                created_at=START,
                updated_at=START,
            )
            session.add(ticket)
            await session.flush()
            return ticket.id

    async def add(self, entries: Sequence[OutboxEntry], now: datetime) -> int:
        async with self._sessionmaker.begin() as session:
            return await add_entries(session, entries, now)

    async def row(self, idempotency_key: str) -> RowView:
        async with self._sessionmaker() as session:
            row = await session.scalar(
                select(OutboxRow).where(OutboxRow.idempotency_key == idempotency_key)
            )
        assert row is not None
        return RowView(
            state=row.state,
            attempts=row.attempts,
            next_attempt_at=row.next_attempt_at,
            last_error=row.last_error,
            external_id=row.external_id,
            sent_at=row.sent_at,
        )

    async def events(self) -> list[tuple[int, str, dict[str, Any]]]:
        async with self._sessionmaker() as session:
            rows = await session.scalars(select(TicketEventRow).order_by(TicketEventRow.id))
            return [(row.ticket_id, row.kind, row.data) for row in rows]

    async def second_store(self) -> OutboxStore:
        engine = self._make_engine()
        self._engines.append(engine)
        return SqlOutboxStore(create_sessionmaker(engine).begin, lease=LEASE)

    async def dispose(self) -> None:
        for engine in self._engines:
            await engine.dispose()


def postgres_url() -> str:
    """The suite's PostgreSQL: contract tests cover both stores in every run, never skipped."""
    return ADMIN_PG_URL


async def _sqlite_backend(path: Path) -> SqlBackend:
    url = f"sqlite+aiosqlite:///{path}"
    backend = SqlBackend("sqlite", lambda: create_engine(DatabaseSettings(url=url)))
    async with backend.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    return backend


async def _postgres_backend(url: str, schema: str) -> SqlBackend:
    def make_engine() -> AsyncEngine:
        engine = create_engine(DatabaseSettings(url=url, pool_size=4))
        return engine.execution_options(schema_translate_map={None: schema})

    backend = SqlBackend("postgresql", make_engine)
    async with backend.engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        await conn.run_sync(Base.metadata.create_all)
    return backend


async def _drop_schema(url: str, schema: str) -> None:
    engine = create_engine(DatabaseSettings(url=url))
    async with engine.begin() as conn:
        await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    await engine.dispose()


@asynccontextmanager
async def open_backend(name: str, tmp_path: Path) -> AsyncIterator[OutboxBackend]:
    """An empty outbox on ``name`` (memory, sqlite, postgresql) with the tables it refers to."""
    if name == "memory":
        yield MemoryBackend()
        return
    if name == "sqlite":
        backend = await _sqlite_backend(tmp_path / "okno.db")
        try:
            yield backend
        finally:
            await backend.dispose()
        return
    url = postgres_url()
    schema = f"notify_test_{uuid.uuid4().hex[:12]}"
    backend = await _postgres_backend(url, schema)
    try:
        yield backend
    finally:
        await backend.dispose()
        await _drop_schema(url, schema)


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
async def outbox(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[OutboxBackend]:
    """Every backend: the in-memory twin must keep the same contract as the SQL store."""
    async with open_backend(request.param, tmp_path) as backend:
        yield backend


@pytest.fixture(params=["sqlite", "postgresql"])
async def sql_outbox(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[OutboxBackend]:
    """The durable backends only."""
    async with open_backend(request.param, tmp_path) as backend:
        yield backend


def make_entry(
    key: str,
    *,
    ticket_id: int | None,
    channel: ChannelKind = ChannelKind.TELEGRAM,
    template: str = "acknowledgement",
    locale: str = "ru",
    payload: dict[str, Any] | None = None,
) -> OutboxEntry:
    """An acknowledgement for ticket #4567, unless told otherwise."""
    address = "ivan@example.com" if channel is ChannelKind.EMAIL else "100500"
    return OutboxEntry(
        idempotency_key=key,
        ticket_id=ticket_id,
        recipient=ReplyAddress(channel=channel, address=address),
        template=template,
        locale=locale,
        timezone="Europe/Moscow",
        payload=payload
        if payload is not None
        else {
            "ticket_number": 4567,
            "subject": "Не работает принтер",
            "priority": "high",
            "requester_name": "Иван",
            "expected_resolution_at": "2026-11-24T11:30:00+00:00",
            "status_url": "https://desk.example/t/abc",
        },
    )
