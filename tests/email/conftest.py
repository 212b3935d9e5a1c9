"""E-mail fixtures: a private Dovecot (one per session, a fresh user per test), aiosmtpd, and
okno built with the e-mail channel pointed at both."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from channels.email.settings import EmailSettings, ImapSettings, Security, SmtpSettings
from okno.app import Okno, build, run_router
from okno.settings import Settings
from tests.fakes.dovecot import PASSWORD, FakeDovecot, available
from tests.fakes.smtp import FakeSmtp

DESK = "support@desk.example"


@pytest.fixture(scope="session")
def dovecot() -> Iterator[FakeDovecot]:
    if not available():
        if os.environ.get("CI"):
            pytest.fail("Dovecot is not installed: run scripts/services.sh")
        pytest.skip("Dovecot is not installed (apt-get install dovecot-imapd)")
    server = FakeDovecot()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def mail_user(dovecot: FakeDovecot) -> str:
    return dovecot.new_user()


@pytest.fixture
def smtp_server() -> Iterator[FakeSmtp]:
    server = FakeSmtp()
    server.start()
    yield server
    server.stop()


def email_settings(
    dovecot: FakeDovecot, user: str, smtp: FakeSmtp, *, imap_port: int | None = None, **more: Any
) -> EmailSettings:
    return EmailSettings(
        enabled=True,
        address=DESK,
        display_name="Служба поддержки",
        imap=ImapSettings(
            host=dovecot.host,
            port=imap_port or dovecot.port,
            security=Security.NONE,
            username=user,
            password=SecretStr(PASSWORD),
            poll_seconds=0.5,
            idle_seconds=5,
            timeout_seconds=5,
            backoff_max_seconds=1,
        ),
        smtp=SmtpSettings(
            host=smtp.host, port=smtp.port, security=Security.NONE, timeout_seconds=5
        ),
        **more,
    )


@pytest.fixture
def mail_settings(
    settings: Settings, dovecot: FakeDovecot, mail_user: str, smtp_server: FakeSmtp
) -> Settings:
    return settings.model_copy(update={"email": email_settings(dovecot, mail_user, smtp_server)})


@dataclass
class Desk:
    """okno with the e-mail channel attached and its router running; the IMAP loop on demand."""

    okno: Okno
    stop: asyncio.Event
    tasks: list[asyncio.Task[None]]

    def start_imap(self) -> asyncio.Task[None]:
        runner: Callable[[asyncio.Event], Coroutine[Any, Any, None]] = self.okno.runners["imap"]
        task = asyncio.create_task(runner(self.stop))
        self.tasks.append(task)
        return task

    async def dispatch(self) -> int:
        """Send everything the outbox holds now."""
        total = 0
        while sent := await self.okno.dispatcher.run_once():
            total += sent
        return total


@contextlib.asynccontextmanager
async def running_desk(settings: Settings) -> AsyncIterator[Desk]:
    async with build(settings, metrics_registry=CollectorRegistry()) as okno:
        stop = asyncio.Event()
        running = Desk(okno=okno, stop=stop, tasks=[])
        router = asyncio.create_task(run_router(okno, stop))
        try:
            yield running
        finally:
            stop.set()
            await asyncio.wait_for(asyncio.gather(router, *running.tasks), timeout=20)


@pytest.fixture
async def desk(mail_settings: Settings) -> AsyncIterator[Desk]:
    async with running_desk(mail_settings) as running:
        yield running
