"""The migrations build exactly the schema the models describe, on both backends."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection

from ticketing.db import Database, DatabaseSettings
from ticketing.schema import load_all_models


async def test_migrated_schema_matches_every_model(database_url: str) -> None:
    metadata = load_all_models()

    def differences(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))

    db = Database(DatabaseSettings(url=database_url))
    try:
        async with db.engine.connect() as connection:
            assert await connection.run_sync(differences) == []
    finally:
        await db.dispose()
