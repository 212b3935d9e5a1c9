"""The composition root: builds every part from the settings and runs them under one TaskGroup.

This is the only module that imports every package. ``okno serve`` runs the HTTP app, the
router and the notify dispatcher in one process; ``okno worker …`` runs one of them alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import secrets
import signal
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web
from prometheus_client import REGISTRY, CollectorRegistry
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from channels.registry import ChannelRegistry
from channels.webform.adapter import WebformInbound
from channels.webform.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from notify.dispatcher import Dispatcher
from notify.planner import NotificationPlanner
from notify.render import Renderer
from okno import wire_email, wire_phone, wire_sla, wire_telegram
from okno.api.auth import TokenChecker
from okno.api.handlers import Api
from okno.http import HttpShell
from okno.settings import Settings
from okno.web.status import status_routes
from router.intake import Intake, IntakeMetrics, RouterWorker
from router.queue import IntakeQueue, MemoryIntakeQueue, RedisIntakeQueue
from router.steps import (
    Classify,
    Deduplicate,
    Identify,
    LoopGuard,
    Prioritise,
    Route,
    Step,
    Thread,
)
from ticketing.db import Database
from ticketing.domain import Notice
from ticketing.files import FileStore
from ticketing.outbox import SqlOutboxStore
from ticketing.service import NoticeSink, TicketService
from ticketing.tokens import StatusTokens, sha256_hex

logger = logging.getLogger(__name__)

T = TypeVar("T")

NoticeEnricher = Callable[
    [AsyncSession, Sequence[Notice], datetime], Coroutine[Any, Any, Sequence[Notice]]
]

# Every part with its own settings (SLA, channels), built explicitly (no discovery): see
# okno/wire_*.py. SLA first: its clocks must be set before channels announce anything.
CHANNEL_WIRINGS = (wire_sla, wire_telegram, wire_email, wire_phone)
CHANNEL_ROLES = tuple(wiring.ROLE for wiring in CHANNEL_WIRINGS)


def utcnow() -> datetime:
    return datetime.now(UTC)


def load_secret(settings: Settings) -> bytes:
    """The installation secret: from settings, a file, or generated once under the data dir."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value().encode()
    path = settings.secret_key_file or settings.data_dir / "secret_key"
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48).encode()
    path.touch(mode=0o600)
    path.write_bytes(value)
    logger.warning("generated a new secret key", extra={"path": str(path)})
    return value


@dataclass(slots=True)
class Okno:
    """Every long-lived part of one okno process."""

    settings: Settings
    db: Database
    redis: Redis | None
    queue: IntakeQueue
    tickets: TicketService
    intake: Intake
    router: RouterWorker
    dispatcher: Dispatcher
    registry: ChannelRegistry
    status_tokens: StatusTokens
    secret: bytes
    metrics_registry: CollectorRegistry
    now: Callable[[], datetime]
    # Filled by the channel wirings (okno/wire_*.py) while attached:
    notice_sinks: list[NoticeSink] = field(default_factory=list)
    notice_enrichers: list[NoticeEnricher] = field(default_factory=list)
    http_routes: list[web.RouteDef] = field(default_factory=list)
    runners: dict[str, Callable[[asyncio.Event], Coroutine[Any, Any, None]]] = field(
        default_factory=dict
    )

    def status_url(self, token: str) -> str:
        return f"{self.settings.http.public_url.rstrip('/')}/t/{token}"

    def status_url_for(self, number: int) -> str:
        return self.status_url(self.status_tokens.token_for(number))

    async def close(self) -> None:
        await self.queue.close()
        if self.redis is not None:
            await self.redis.aclose()
        await self.db.dispose()


def router_steps(settings: Settings, tokens: StatusTokens) -> tuple[Step, ...]:
    """SPEC §4 in order: loop guard, identify, thread, dedup, classify, prioritise, route."""
    return (
        LoopGuard(),
        Identify(settings.ticketing),
        Thread(sha256_hex, settings.router),
        Deduplicate(settings.router),
        Classify(settings.router),
        Prioritise(settings.router),
        Route(settings.router, settings.services, settings.teams),
    )


@contextlib.asynccontextmanager
async def build(
    settings: Settings,
    *,
    now: Callable[[], datetime] = utcnow,
    metrics_registry: CollectorRegistry = REGISTRY,
) -> AsyncIterator[Okno]:
    """Build every part; close them in reverse order on exit."""
    db = Database(settings.database)
    redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
    queue: IntakeQueue = RedisIntakeQueue(redis) if redis is not None else MemoryIntakeQueue()
    secret = load_secret(settings)
    status_tokens = StatusTokens(secret)
    planner = NotificationPlanner(settings.notify, status_url=lambda t: _status_url(settings, t))
    notice_sinks: list[NoticeSink] = [planner]
    notice_enrichers: list[NoticeEnricher] = []

    async def announce(session: AsyncSession, notices: Sequence[Notice], at: datetime) -> None:
        # Enrichers (SLA clocks) update the ticket first and hand back fresh notices, so what
        # the sinks say (expected resolution time) is already true. Then the requester's
        # planner, then any sink a channel wiring added (agents' cards).
        for enrich in notice_enrichers:
            notices = await enrich(session, notices, at)
        for sink in notice_sinks:
            await sink(session, notices, at)

    registry = ChannelRegistry()
    dispatcher = Dispatcher(
        SqlOutboxStore(db.transaction, lease=timedelta(seconds=settings.notify.lease_seconds)),
        registry,
        Renderer(
            default_locale=settings.ticketing.default_locale,
            default_timezone=settings.ticketing.default_timezone,
        ),
        settings.notify,
        now=now,
        metrics_registry=metrics_registry,
    )
    tickets = TicketService(tokens=status_tokens, notices=announce)
    metrics = IntakeMetrics(metrics_registry)
    files = FileStore(
        settings.storage.attachments_dir, max_bytes=settings.storage.max_attachment_bytes
    )
    intake = Intake(
        db=db,
        queue=queue,
        files=files,
        metrics=metrics,
        now=now,
        result_timeout=settings.queue.result_timeout_seconds,
        outbox_written=dispatcher.wake,
    )
    router = RouterWorker(
        db=db,
        queue=queue,
        steps=router_steps(settings, status_tokens),
        tickets=tickets,
        metrics=metrics,
        now=now,
    )
    if isinstance(queue, MemoryIntakeQueue):
        # The queue is this process's own: route where we store (one transaction per batch).
        intake.route_with_store(router)
    okno = Okno(
        settings=settings,
        db=db,
        redis=redis,
        queue=queue,
        tickets=tickets,
        intake=intake,
        router=router,
        dispatcher=dispatcher,
        registry=registry,
        status_tokens=status_tokens,
        secret=secret,
        metrics_registry=metrics_registry,
        now=now,
        notice_sinks=notice_sinks,
        notice_enrichers=notice_enrichers,
    )
    try:
        await queue.start()
        async with contextlib.AsyncExitStack() as channels:
            for wiring in CHANNEL_WIRINGS:
                await channels.enter_async_context(wiring.attach(okno))
            yield okno
    finally:
        await okno.close()


def _status_url(settings: Settings, token: str) -> str:
    return f"{settings.http.public_url.rstrip('/')}/t/{token}"


def webform_inbound(okno: Okno, *, secure_cookie: bool) -> WebformInbound:
    settings = okno.settings
    max_files, max_bytes = settings.webform.attachment_limits(
        max_attachments=settings.storage.max_attachments,
        max_attachment_bytes=settings.storage.max_attachment_bytes,
    )
    limiter: RateLimiter = (
        RedisRateLimiter(okno.redis) if okno.redis is not None else MemoryRateLimiter()
    )
    return WebformInbound(
        settings.webform,
        services=[(s.id, s.name) for s in settings.services],
        secret=okno.secret,
        max_attachment_bytes=max_bytes,
        max_attachments=max_files,
        status_url=okno.status_url,
        status_token_for=okno.status_tokens.token_for,
        rate_limiter=limiter,
        now=okno.now,
        trust_forwarded_for=settings.http.trust_forwarded_for,
        secure_cookie=secure_cookie,
    )


def build_web_app(okno: Okno) -> web.Application:
    """The one aiohttp app: health, metrics, API, web form and status page."""
    settings = okno.settings
    app = web.Application(client_max_size=settings.http.max_body_bytes)
    shell = HttpShell(db=okno.db, redis=okno.redis, metrics_registry=okno.metrics_registry)
    api = Api(
        db=okno.db,
        intake=okno.intake.accept,
        tickets=okno.tickets,
        tokens=TokenChecker(okno.db),
        services=frozenset(s.id for s in settings.services),
        status_url=okno.status_url_for,
        max_attachment_bytes=settings.storage.max_attachment_bytes,
        now=okno.now,
        sla_policy=wire_sla.policy_for(settings.sla),
        phone_region=settings.phone.default_region,
    )
    app.add_routes(shell.routes())
    app.add_routes(api.routes())
    app.add_routes(okno.http_routes)
    https = settings.http.public_url.startswith("https://")
    app.add_routes(webform_inbound(okno, secure_cookie=https).routes(okno.intake.accept))
    app.add_routes(
        status_routes(
            db=okno.db,
            tickets=okno.tickets,
            secret=okno.secret,
            now=okno.now,
            csrf_max_age=settings.webform.csrf_max_age_seconds,
            secure_cookie=https,
        )
    )
    app.middlewares.append(shell.error_middleware)
    return app


async def run_router(okno: Okno, stop: asyncio.Event) -> None:
    """Consume the intake queue; periodically re-queue rows a crash left unrouted."""
    settings = okno.settings.queue

    async def recover_forever() -> None:
        await okno.router.recover(older_than=timedelta(0))
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=settings.recovery_interval_seconds)
            await okno.router.recover(
                older_than=timedelta(seconds=settings.recovery_interval_seconds)
            )

    async with asyncio.TaskGroup() as group:
        group.create_task(recover_forever(), name="router-recovery")
        group.create_task(
            okno.queue.consume(okno.router.handle_batch, stop, settings.batch_size),
            name="router-consumer",
        )


async def run_http(okno: Okno, stop: asyncio.Event, ready: asyncio.Event | None = None) -> None:
    runner = web.AppRunner(build_web_app(okno), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(
        runner, okno.settings.http.host, okno.settings.http.port, reuse_address=True
    )
    await site.start()
    logger.info(
        "listening",
        extra={"host": okno.settings.http.host, "port": okno.settings.http.port},
    )
    if ready is not None:
        ready.set()
    try:
        await stop.wait()
    finally:
        # Stop accepting, let in-flight requests finish (their messages are stored already).
        await runner.cleanup()


def run_service_loop(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` as the long-lived commands do: on uvloop (less event-loop cost per request
    and round trip). Benchmarks that drive okno in-process use it too, to measure the same."""
    import uvloop  # noqa: PLC0415 - only the long-lived commands need it

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


def freeze_startup_heap() -> None:
    """Exempt what imports and start-up built from the cyclic garbage collector.

    The imported libraries (aiogram's types, pydantic's schemas, SQLAlchemy) leave about 300k
    long-lived objects; every full collection walked them all, a 150 ms stall on this kind of
    machine that landed on whichever requests were in flight (the p99 of bench/intake). Frozen,
    they are never scanned again, and a full collection walks only what the service made since.
    """
    gc.collect()
    gc.freeze()


def install_signal_handlers(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)


async def serve(settings: Settings, *, roles: frozenset[str]) -> None:
    """Run the given roles (http, router, notify, channels) until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    install_signal_handlers(stop)
    await asyncio.to_thread(Path(settings.data_dir).mkdir, parents=True, exist_ok=True)
    async with build(settings) as okno, asyncio.TaskGroup() as group:
        freeze_startup_heap()
        if "router" in roles:
            group.create_task(run_router(okno, stop), name="router")
        if "notify" in roles:
            group.create_task(okno.dispatcher.run(stop), name="notify")
        if "http" in roles:
            group.create_task(run_http(okno, stop), name="http")
        for role, runner in okno.runners.items():
            if role in roles:
                group.create_task(runner(stop), name=role)
    logger.info("stopped")
