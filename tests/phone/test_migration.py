"""Migration 0004_phone creates exactly the phone tables the models describe, on both backends."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection

from ticketing.db import Database, DatabaseSettings
from ticketing.rows_phone import CallEventRow, CallRecordingRow, CallRow
from ticketing.schema import load_all_models

PHONE_TABLES = {t.__tablename__ for t in (CallRow, CallEventRow, CallRecordingRow)}


def _mentions_phone_table(difference: Any) -> bool:
    return any(
        f"'{name}'" in repr(difference) or f"({name}" in repr(difference) for name in PHONE_TABLES
    )


async def test_migrated_phone_tables_match_the_models(database_url: str) -> None:
    metadata = load_all_models()

    def differences(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return [d for d in compare_metadata(context, metadata) if _mentions_phone_table(d)]

    db = Database(DatabaseSettings(url=database_url))
    try:
        async with db.engine.connect() as connection:
            assert await connection.run_sync(differences) == []
    finally:
        await db.dispose()
