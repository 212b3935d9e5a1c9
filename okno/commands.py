"""The work behind the one-shot CLI commands (migrate, check, token, replay)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from redis.asyncio import Redis
from sqlalchemy import text

from channels.email.imap import ImapSession
from channels.email.smtp import SmtpPool
from okno import wire_telegram
from okno.api.auth import create_token as create_api_token
from okno.api.auth import revoke_token as revoke_api_token
from okno.app import utcnow
from okno.settings import Settings
from ticketing import inbox
from ticketing.db import Database
from ticketing.email_store import ConnectionRecord, SqlEmailStore
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
            # One row per migration branch head (each part adds its own branch).
            heads = (
                await session.execute(text("SELECT version_num FROM alembic_version"))
            ).scalars()
            revision = ", ".join(sorted(heads))
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
    results.extend(await check_email(settings))
    if settings.telegram.enabled:
        results.extend(await wire_telegram.check(settings))
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
    """Put failed inbox rows back to pending (all, or the given ids); a running router
    picks them up. Quarantined mail is :func:`replay_mail`'s business (``--mail``)."""
    db = Database(settings.database)
    try:
        async with db.transaction() as session:
            replayed = await inbox.requeue_failed(session, ids or None)
    finally:
        await db.dispose()
    return len(replayed)


async def replay_mail(settings: Settings, ids: list[int]) -> int:
    """Ask the ``imap`` role to process quarantined mail again (all, or the given ids)."""
    db = Database(settings.database)
    try:
        return len(await SqlEmailStore(db).request_replay(ids or None))
    finally:
        await db.dispose()


async def quarantined_mail(settings: Settings) -> list[str]:
    """One line per quarantined mail not yet replayed: id, state, arrival, Message-ID, error."""
    db = Database(settings.database)
    try:
        held = await SqlEmailStore(db).held(limit=1000)
    finally:
        await db.dispose()
    return [
        f"{m.id}\t{m.state}\t{m.received_at:%Y-%m-%d %H:%M}Z\tattempts={m.attempts}\t"
        f"{m.message_id or '-'}\t{m.error.splitlines()[0][:200] if m.error else ''}"
        for m in held
    ]


async def check_email(settings: Settings) -> list[CheckResult]:
    """Log in to IMAP and SMTP now; report with what the running service last saw."""
    if not settings.email.enabled:
        return []
    db = Database(settings.database)
    store = SqlEmailStore(db)
    try:
        results = []
        for name, probe in (("imap", _probe_imap), ("smtp", _probe_smtp)):
            try:
                ok, detail = True, await probe(settings)
            except Exception as exc:  # reported, not raised: check runs every test
                ok, detail = False, f"{type(exc).__name__}: {exc}"
            try:
                await store.record_connection(
                    name, ok=ok, error=None if ok else detail, now=utcnow()
                )
                state = await store.connection_state(name)
            except Exception:  # the database check above already says what is wrong
                state = None
            results.append((name, ok, f"{detail}; {_history(state)}"))
        return results
    finally:
        await db.dispose()


async def _probe_imap(settings: Settings) -> str:
    imap = settings.email.imap
    session = ImapSession(imap)
    try:
        await session.open()
    finally:
        await session.close()
    return f"logged in as {imap.username} at {imap.host}:{imap.port}, {imap.mailbox} selected"


async def _probe_smtp(settings: Settings) -> str:
    smtp_settings = settings.email.smtp
    client = SmtpPool(smtp_settings).client()
    await client.connect()
    await client.quit()
    who = f" as {smtp_settings.username}" if smtp_settings.username else ""
    return f"connected{who} to {smtp_settings.host}:{smtp_settings.port}"


def _history(state: ConnectionRecord | None) -> str:
    if state is None:
        return "no attempts recorded"

    def at(moment: datetime | None) -> str:
        return moment.isoformat(timespec="seconds") if moment else "never"

    text = f"last attempt {at(state.last_attempt_at)}, last success {at(state.last_success_at)}"
    return text + (f", last error: {state.last_error}" if state.last_error else "")
