"""The work behind the one-shot CLI commands (migrate, check, token, replay)."""

from __future__ import annotations

from pathlib import Path

from redis.asyncio import Redis
from sqlalchemy import text

from okno.api.auth import create_token as create_api_token
from okno.api.auth import revoke_token as revoke_api_token
from okno.app import utcnow
from okno.settings import Settings
from ticketing import inbox
from ticketing.db import Database
from ticketing.migrate import upgrade

CheckResult = tuple[str, bool, str]


def _ensure_sqlite_dir(settings: Settings) -> None:
    if settings.database.is_sqlite and ":///" in settings.database_url:
        path = settings.database_url.split(":///", 1)[1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)


async def migrate(settings: Settings) -> None:
    _ensure_sqlite_dir(settings)
    db = Database(settings.database)
    try:
        await upgrade(db.engine)
    finally:
        await db.dispose()


async def check(settings: Settings) -> list[CheckResult]:
    """Test every configured connection, like a "Проверить" button."""
    results: list[CheckResult] = [("config", True, "valid")]
    _ensure_sqlite_dir(settings)
    db = Database(settings.database)
    try:
        async with db.read() as session:
            revision = (
                await session.execute(text("SELECT version_num FROM alembic_version"))
            ).scalar_one_or_none()
        results.append(("database", True, f"{db.dialect}, schema {revision or 'empty'}"))
    except Exception as exc:  # reported, not raised: check runs every test
        detail = str(exc).splitlines()[0]
        if "alembic_version" in detail:
            detail = "reachable, but the schema is missing: run `okno migrate`"
        results.append(("database", False, detail))
    finally:
        await db.dispose()
    if settings.redis_url:
        redis = Redis.from_url(settings.redis_url, socket_connect_timeout=5)
        try:
            await redis.ping()
            results.append(("redis", True, settings.redis_url.split("@")[-1]))
        except Exception as exc:
            results.append(("redis", False, f"{exc.__class__.__name__}: {exc}"))
        finally:
            await redis.aclose()
    return results


async def create_token(settings: Settings, name: str) -> str:
    db = Database(settings.database)
    try:
        return await create_api_token(db, name, utcnow)
    finally:
        await db.dispose()


async def revoke_token(settings: Settings, name: str) -> bool:
    db = Database(settings.database)
    try:
        return await revoke_api_token(db, name, utcnow)
    finally:
        await db.dispose()


async def replay(settings: Settings, ids: list[int]) -> int:
    """Put failed inbox rows back to pending; a running router picks them up."""
    db = Database(settings.database)
    try:
        async with db.transaction() as session:
            replayed = await inbox.requeue_failed(session, ids or None)
    finally:
        await db.dispose()
    return len(replayed)
