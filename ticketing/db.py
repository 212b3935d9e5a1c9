"""Engine and session factory for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from ticketing import sqlite_driver

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///var/okno.db"


class DatabaseSettings(BaseModel):
    """Where tickets live. SQLite by default; ``postgresql+asyncpg://…`` at scale."""

    url: str = Field(default=DEFAULT_DATABASE_URL, description="SQLAlchemy async URL")
    pool_size: int = Field(default=10, ge=1, description="PostgreSQL connection pool size")
    echo: bool = Field(default=False, description="log every SQL statement")

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")


def create_engine(settings: DatabaseSettings) -> AsyncEngine:
    """Build the engine, with SQLite tuned for one writer and many readers (WAL)."""
    kwargs: dict[str, Any] = {"echo": settings.echo}
    if settings.is_sqlite:
        kwargs["connect_args"] = {"timeout": 30}
    else:
        kwargs["pool_size"] = settings.pool_size
        kwargs["max_overflow"] = settings.pool_size
        # No ping before every checkout: it is a round trip per transaction (~10% of a routing
        # batch's cost). After a server restart the first statement on a dead connection fails,
        # SQLAlchemy then discards every older pooled connection, and the failed unit retries:
        # nothing is acknowledged before it is stored, so that costs one retry, not a message.
        kwargs["pool_pre_ping"] = False
    url = make_url(settings.url)
    if url.drivername == "sqlite+aiosqlite":
        # The same driver with one thread hand-off per statement (see ticketing.sqlite_driver).
        url = url.set(drivername=f"sqlite+{sqlite_driver.DRIVER_NAME}")
    engine = create_async_engine(url, **kwargs)
    if settings.is_sqlite:
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the writer; NORMAL is durable across process crashes in WAL.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


class Database:
    """The engine, its session factory, and SQLite's single-writer discipline.

    SQLite allows one writer at a time; a transaction that reads and then writes while another
    commits fails at once with "database is locked" (WAL snapshot conflict), whatever the busy
    timeout. One process owns an embedded database, so an asyncio lock around write transactions
    is the simplest correct answer. PostgreSQL needs no lock.
    """

    def __init__(self, settings: DatabaseSettings) -> None:
        self.settings = settings
        self.engine = create_engine(settings)
        self.sessionmaker = create_sessionmaker(self.engine)
        self._write_lock = asyncio.Lock() if settings.is_sqlite else None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A write transaction: commits on success, rolls back on any exception."""
        if self._write_lock is None:
            async with self.sessionmaker.begin() as session:
                yield session
            return
        async with self._write_lock, self.sessionmaker.begin() as session:
            yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A read-only session (no lock: WAL readers never block the writer)."""
        async with self.sessionmaker() as session:
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()
