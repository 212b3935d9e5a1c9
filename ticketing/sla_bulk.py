"""Many-row UPDATEs as one statement on PostgreSQL, for the SLA part's ticks and recomputes.

Each column travels as one array and ``unnest`` turns the arrays back into rows, so a thousand
rows are one statement, one plan and one round trip instead of a thousand executions of the
same UPDATE (the server's per-execution cost is what dominates executemany there). SQLite runs
in-process and keeps executemany.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Column, Table, TextClause, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

_POSTGRES = postgresql.dialect()
_STATEMENTS: dict[tuple[str, str, tuple[str, ...]], TextClause] = {}


_JSON: dict[Column[Any], bool] = {}


def _is_json(column: Column[Any]) -> bool:
    found = _JSON.get(column)
    if found is None:
        found = _JSON[column] = "JSON" in column.type.compile(dialect=_POSTGRES)
    return found


def _statement(table: Table, key: str, columns: Sequence[str]) -> TextClause:
    """``UPDATE table SET c = v.c, … FROM unnest(:key, :c, …) AS v(key, c, …)``, built once."""
    cache_key = (table.name, key, tuple(columns))
    statement = _STATEMENTS.get(cache_key)
    if statement is None:
        names = (key, *columns)
        # JSON goes as text and is cast per row: asyncpg has no codec for an array of JSONB.
        arrays = ", ".join(
            f"CAST(:{name} AS "
            f"{'TEXT' if _is_json(table.c[name]) else table.c[name].type.compile(_POSTGRES)}[])"
            for name in names
        )
        sets = ", ".join(
            f"{name} = CAST(v.{name} AS JSONB)" if _is_json(table.c[name]) else f"{name} = v.{name}"
            for name in columns
        )
        statement = _STATEMENTS[cache_key] = text(
            f"UPDATE {table.name} SET {sets} FROM unnest({arrays}) AS v({', '.join(names)}) "  # noqa: S608 - names are the table's own columns
            f"WHERE {table.name}.{key} = v.{key}"
        )
    return statement


async def update_many(
    connection: AsyncConnection,
    table: Table,
    key: str,
    rows: Sequence[Mapping[str, Any]],
) -> None:
    """Update ``rows`` (each maps ``key`` and the same columns to values) in one statement."""
    if not rows:
        return
    columns = [name for name in rows[0] if name != key]
    params: dict[str, list[Any]] = {}
    for name in (key, *columns):
        values = [row[name] for row in rows]
        if _is_json(table.c[name]):
            values = [None if value is None else json.dumps(value) for value in values]
        params[name] = values
    await connection.execute(_statement(table, key, columns), params)
