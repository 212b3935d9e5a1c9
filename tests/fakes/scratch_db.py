"""Scratch PostgreSQL databases for the test suite and the benchmarks: created, dropped."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator

from sqlalchemy import text
from sqlalchemy.engine import make_url

from ticketing.db import Database, DatabaseSettings
from ticketing.migrate import upgrade


async def _admin(admin_url: str, statement: str) -> None:
    db = Database(DatabaseSettings(url=admin_url))
    try:
        async with db.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(statement))
    finally:
        await db.dispose()


async def create_postgres(admin_url: str, prefix: str, *, migrate: bool = True) -> str:
    """A new, empty database on ``admin_url``'s server (migrated unless told); its URL."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    await _admin(admin_url, f'CREATE DATABASE "{name}"')
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    if migrate:
        db = Database(DatabaseSettings(url=url))
        await upgrade(db.engine)
        await db.dispose()
    return url


async def drop_postgres(admin_url: str, url: str) -> None:
    """Drop the database ``url`` names, whoever is still connected to it."""
    await _admin(admin_url, f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


@contextlib.asynccontextmanager
async def scratch_postgres(
    admin_url: str, prefix: str, *, migrate: bool = True
) -> AsyncIterator[str]:
    """:func:`create_postgres`, dropped on the way out."""
    url = await create_postgres(admin_url, prefix, migrate=migrate)
    try:
        yield url
    finally:
        await drop_postgres(admin_url, url)
