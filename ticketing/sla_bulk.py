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

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    Integer,
    String,
    Table,
    TextClause,
    text,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import TypeDecorator, TypeEngine

_STATEMENTS: dict[tuple[str, str, tuple[str, ...]], TextClause] = {}


# Each column's array element type, by its SQLAlchemy type; JSON travels as text.
_ARRAY_TYPES: tuple[tuple[type[TypeEngine[Any]], str], ...] = (
    (DateTime, "TIMESTAMPTZ"),
    (Float, "FLOAT8"),
    (Boolean, "BOOLEAN"),
    (String, "TEXT"),
    (Integer, "BIGINT"),
)


def _kind(column: Column[Any]) -> TypeEngine[Any]:
    kind = column.type
    return kind.impl_instance if isinstance(kind, TypeDecorator) else kind


def _is_json(column: Column[Any]) -> bool:
    return isinstance(_kind(column), JSON)


def _element_type(column: Column[Any]) -> str:
    if _is_json(column):
        return "TEXT"
    kind = _kind(column)
    return next(name for sa_type, name in _ARRAY_TYPES if isinstance(kind, sa_type))


def _statement(table: Table, key: str, columns: Sequence[str]) -> TextClause:
    """``UPDATE table SET c = v.c, … FROM unnest(:key, :c, …) AS v(key, c, …)``, built once."""
    cache_key = (table.name, key, tuple(columns))
    statement = _STATEMENTS.get(cache_key)
    if statement is None:
        names = (key, *columns)
        # JSON goes as text and is cast per row: asyncpg has no codec for an array of JSONB.
        arrays = ", ".join(f"CAST(:{name} AS {_element_type(table.c[name])}[])" for name in names)
        sets = ", ".join(
            f"{name} = CAST(v.{name} AS JSONB)"
            if _is_json(table.c[name])
            else f"{name} = v.{name}"
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
    columns: Mapping[str, Sequence[Any]],
) -> None:
    """Set each column in ``columns`` (name → one value per row, ``key`` among them) on the
    rows whose ``key`` is given, in one statement. JSON columns take Python values."""
    if not columns[key]:
        return
    params = {
        name: [None if value is None else json.dumps(value) for value in values]
        if _is_json(table.c[name])
        else list(values)
        for name, values in columns.items()
    }
    names = [name for name in columns if name != key]
    await connection.execute(_statement(table, key, names), params)
