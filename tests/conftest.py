"""Shared fixtures: one suite, run once per backend (OKNO_TEST_BACKEND=sqlite | postgres).

The embedded run uses a fresh SQLite file per test and the in-process queue; the scaled run
uses a scratch PostgreSQL database (migrated once, truncated per test) and a real Redis. A
backend that cannot be reached fails the run: nothing is skipped.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr
from redis import Redis as SyncRedis
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url

from okno.app import Okno, build
from okno.settings import Settings
from tests.fakes.scratch_db import create_postgres, drop_postgres
from ticketing.db import Database, DatabaseSettings
from ticketing.migrate import upgrade
from ticketing.schema import load_all_models
from ticketing.settings import ServiceSettings, TeamSettings

BACKEND = os.environ.get("OKNO_TEST_BACKEND", "sqlite")
ADMIN_PG_URL = os.environ.get(
    "OKNO_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
_REQUESTED_REDIS_URL = os.environ.get("OKNO_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
_REDIS_LOCK_PREFIX = "okno:test:db-lock:"
_REDIS_LOCK_SECONDS = 4 * 3600


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _claim_redis_db(url: str) -> str:
    """Return ``url`` pointed at a Redis db no other live test run on this machine uses.

    Every test flushes its db, so two suites sharing one (a developer's run beside CI, or
    several checkouts) would wipe each other's streams. The requested db is tried first,
    then 15 down to 1; a claim is a key in db 0 holding the owner's pid, taken over when
    that process is gone. Released when the run ends.
    """
    base = make_url(url)
    requested = int(base.database or 0)
    candidates = [requested] + [n for n in range(15, 0, -1) if n != requested]
    admin = SyncRedis.from_url(base.set(database="0").render_as_string(hide_password=False))
    try:
        for number in candidates:
            key = f"{_REDIS_LOCK_PREFIX}{number}"
            mine = str(os.getpid())
            if not admin.set(key, mine, nx=True, ex=_REDIS_LOCK_SECONDS):
                owner = admin.get(key)
                if owner is not None and _pid_alive(int(owner)):
                    continue
                admin.set(key, mine, ex=_REDIS_LOCK_SECONDS)
            atexit.register(_release_redis_db, base, key, mine)
            return base.set(database=str(number)).render_as_string(hide_password=False)
    finally:
        admin.close()
    msg = f"every Redis db 1-15 at {url} is claimed by a running test suite"
    raise RuntimeError(msg)


def _release_redis_db(base: URL, key: str, owner: str) -> None:
    admin = SyncRedis.from_url(base.set(database="0").render_as_string(hide_password=False))
    try:
        if admin.get(key) == owner.encode():
            admin.delete(key)
    finally:
        admin.close()


REDIS_URL = (
    _claim_redis_db(_REQUESTED_REDIS_URL) if BACKEND == "postgres" else _REQUESTED_REDIS_URL
)


def pytest_report_header() -> str:
    return f"okno backend: {BACKEND}"


async def _migrated_sqlite_template(path: Path) -> None:
    db = Database(DatabaseSettings(url=f"sqlite+aiosqlite:///{path}"))
    await upgrade(db.engine)
    await db.dispose()


@pytest.fixture(scope="session")
def _database_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database to start each test from (a file to copy, or a PostgreSQL URL)."""
    if BACKEND == "postgres":
        url = asyncio.run(create_postgres(ADMIN_PG_URL, "okno_test"))
        yield url
        asyncio.run(drop_postgres(ADMIN_PG_URL, url))
    else:
        path = tmp_path_factory.mktemp("template") / "okno.db"
        asyncio.run(_migrated_sqlite_template(path))
        yield str(path)


@pytest.fixture
async def database_url(_database_template: str, tmp_path: Path) -> str:
    if BACKEND == "postgres":
        db = Database(DatabaseSettings(url=_database_template))
        tables = ", ".join(t.name for t in load_all_models().sorted_tables)
        async with db.engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        await db.dispose()
        return _database_template
    target = tmp_path / "okno.db"
    shutil.copyfile(_database_template, target)
    return f"sqlite+aiosqlite:///{target}"


@pytest.fixture
async def redis_url() -> str | None:
    if BACKEND != "postgres":
        return None
    redis = Redis.from_url(REDIS_URL)
    await redis.flushdb()
    await redis.aclose()
    return REDIS_URL


@pytest.fixture
def settings(database_url: str, redis_url: str | None, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        secret_key=SecretStr("test-secret-" + "x" * 32),
        data_dir=tmp_path / "var",
        storage={"attachments_dir": tmp_path / "attachments", "max_attachment_bytes": 64 * 1024},
        services=[
            ServiceSettings(id="email", name={"ru": "Почта", "en": "E-mail"}, team="l1"),
            ServiceSettings(id="printing", name={"ru": "Печать", "en": "Printing"}, team="l1"),
            ServiceSettings(id="vpn", name={"ru": "VPN", "en": "VPN"}, team="network"),
        ],
        teams=[
            TeamSettings(id="l1", name="Первая линия", members=["anna", "boris"]),
            TeamSettings(id="network", name="Сеть", members=["ivan"]),
        ],
        queue={"result_timeout_seconds": 10.0, "recovery_interval_seconds": 1.0},
    )


@pytest.fixture
async def okno(settings: Settings) -> AsyncIterator[Okno]:
    """Every part built from the test settings, with the router consuming in the background."""
    from okno.app import run_router

    async with build(settings, metrics_registry=CollectorRegistry()) as built:
        stop = asyncio.Event()
        task = asyncio.create_task(run_router(built, stop))
        try:
            yield built
        finally:
            stop.set()
            await asyncio.wait_for(task, timeout=10)
