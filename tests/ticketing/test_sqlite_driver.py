"""The one-hand-off SQLite cursor behaves as the stock aiosqlite cursor does.

SQLAlchemy reads rows, rowcount, lastrowid and description from the cursor, and maps driver
errors to its own; each is checked here on a real SQLite file, plus the hand-off count itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import aiosqlite
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError

from ticketing import sqlite_driver
from ticketing.db import Database, DatabaseSettings

metadata = MetaData()
items = Table(
    "items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String, unique=True, nullable=False),
)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(DatabaseSettings(url=f"sqlite+aiosqlite:///{tmp_path / 'd.db'}"))
    async with database.engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    yield database
    await database.dispose()


async def test_the_documented_url_gets_the_one_hop_driver(db: Database) -> None:
    assert db.engine.dialect.driver == sqlite_driver.DRIVER_NAME
    assert db.dialect == "sqlite"


async def test_rows_rowcount_lastrowid_and_returning(db: Database) -> None:
    async with db.transaction() as session:
        first = cast("Any", await session.execute(insert(items).values(name="a")))
        assert first.inserted_primary_key == (1,)  # from lastrowid
        returned = await session.execute(insert(items).values(name="b").returning(items.c.id))
        assert returned.scalar_one() == 2
        await session.execute(insert(items), [{"name": "c"}, {"name": "d"}])  # executemany
        changed = cast(
            "Any",
            await session.execute(
                update(items).where(items.c.id > 2).values(name=items.c.name + "!")
            ),
        )
        assert changed.rowcount == 2
    async with db.read() as session:
        rows = (await session.execute(select(items.c.id, items.c.name).order_by(items.c.id))).all()
        assert rows == [(1, "a"), (2, "b"), (3, "c!"), (4, "d!")]
        result = await session.execute(select(items.c.name).where(items.c.id == 3))
        assert list(result.keys()) == ["name"]  # description
        assert (await session.execute(select(items.c.id).where(items.c.id == 99))).first() is None


async def test_errors_are_sqlalchemys_and_roll_back(db: Database) -> None:
    async def insert_twice() -> None:
        async with db.transaction() as session:
            await session.execute(insert(items).values(name="x"))
            await session.execute(insert(items).values(name="x"))

    with pytest.raises(IntegrityError):
        await insert_twice()
    with pytest.raises(OperationalError, match="no such table"):
        async with db.read() as session:
            await session.execute(text("SELECT * FROM missing"))
    async with db.read() as session:
        assert (await session.execute(select(items.c.id))).all() == []


async def test_one_statement_is_one_call_on_the_connection_thread(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    original: Any = aiosqlite.Connection._execute

    async def counting(self: aiosqlite.Connection, fn: object, *args: object, **kw: object) -> Any:
        calls.append(getattr(fn, "__name__", repr(fn)))
        return await original(self, fn, *args, **kw)

    async with db.read() as session:
        await session.execute(select(items.c.id))  # connect and begin outside the count
        monkeypatch.setattr(aiosqlite.Connection, "_execute", counting)
        await session.execute(select(items.c.id).where(items.c.id == 1))
        assert calls == ["_execute"]  # the stock cursor: cursor, execute, fetchall, close
