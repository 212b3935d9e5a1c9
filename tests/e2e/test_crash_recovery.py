"""SIGKILL the real service in the middle of 1,000 submissions: nothing lost, nothing doubled."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from okno.api.auth import create_token
from okno.app import utcnow
from okno.settings import Settings
from ticketing.db import Database
from ticketing.models import InboundMessageRow, OutboxRow, TicketRow

TOTAL = 1000
KILL_AFTER = 300
CONCURRENCY = 16


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Service:
    """``okno serve`` as a child process, as an operator runs it."""

    def __init__(self, settings: Settings, port: int, log: Path) -> None:
        self.port = port
        self.log = log
        self.env = {
            **os.environ,
            "OKNO_DATABASE_URL": settings.database_url,
            "OKNO_HTTP__PORT": str(port),
            "OKNO_SECRET_KEY": settings.secret_key.get_secret_value()
            if settings.secret_key
            else "",
            "OKNO_DATA_DIR": str(settings.data_dir),
            "OKNO_STORAGE__ATTACHMENTS_DIR": str(settings.storage.attachments_dir),
        }
        self.env.pop("OKNO_CONFIG", None)
        if settings.redis_url:
            self.env["OKNO_REDIS_URL"] = settings.redis_url
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "okno", "serve"], env=self.env, stdout=log, stderr=log
            )

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    async def wait_ready(self, within: float = 30.0) -> None:
        deadline = asyncio.get_running_loop().time() + within
        async with aiohttp.ClientSession() as http:
            while True:
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"http://127.0.0.1:{self.port}/readyz") as response:
                        if response.status == 200:
                            return
                assert self.process is not None
                assert self.process.poll() is None, self.log.read_text()
                if asyncio.get_running_loop().time() > deadline:
                    raise AssertionError("service did not become ready:\n" + self.log.read_text())
                await asyncio.sleep(0.1)


@pytest.fixture
def service(settings: Settings, tmp_path: Path) -> Iterator[Service]:
    running = Service(settings, free_port(), tmp_path / "service.log")
    yield running
    running.stop()


def payload(index: int) -> dict[str, Any]:
    return {
        "external_id": f"crash-{index}",
        "sender": {"name": f"Сотрудник {index}", "email": f"user{index}@example.ru"},
        "subject": f"Заявка {index}",
        "text": f"Не работает рабочее место номер {index}, прошу помочь",
    }


@pytest.mark.timeout(300)
async def test_sigkill_mid_stream_loses_and_duplicates_nothing(
    service: Service, settings: Settings
) -> None:
    db = Database(settings.database)
    token = await create_token(db, "crash-test", utcnow)
    headers = {"Authorization": f"Bearer {token}"}
    url = f"http://127.0.0.1:{service.port}/api/v1/messages"
    answered: dict[int, int | None] = {}
    killed = asyncio.Event()

    async def submit(http: aiohttp.ClientSession, queue: asyncio.Queue[int]) -> None:
        while not queue.empty():
            index = queue.get_nowait()
            try:
                async with http.post(url, json=payload(index), headers=headers) as response:
                    if response.status == 202:
                        answered[index] = (await response.json())["ticket_number"]
            except (TimeoutError, aiohttp.ClientError):
                pass  # no answer: like any real source, it will be sent again
            if len(answered) >= KILL_AFTER and not killed.is_set():
                killed.set()
                service.kill()

    service.start()
    await service.wait_ready()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(TOTAL):
        queue.put_nowait(index)
    timeout = aiohttp.ClientTimeout(total=20)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        await asyncio.gather(*(submit(http, queue) for _ in range(CONCURRENCY)))
    assert killed.is_set()
    assert KILL_AFTER <= len(answered) < TOTAL

    service.start()
    await service.wait_ready()
    first_answers = dict(answered)
    retry: asyncio.Queue[int] = asyncio.Queue()
    for index in range(TOTAL):  # resend the unanswered, and redeliver the answered
        retry.put_nowait(index)
    answered.clear()
    killed.set()
    async with aiohttp.ClientSession(timeout=timeout) as http:
        await asyncio.gather(*(submit(http, retry) for _ in range(CONCURRENCY)))
    assert len(answered) == TOTAL

    for _ in range(300):  # answers that said "queued" finish routing in the background
        async with db.read() as session:
            pending = await session.scalar(
                select(func.count()).where(InboundMessageRow.state != "done")
            )
        if pending == 0:
            break
        await asyncio.sleep(0.1)
    async with db.read() as session:
        inbound = await session.scalar(select(func.count()).select_from(InboundMessageRow))
        tickets = await session.scalar(select(func.count()).select_from(TicketRow))
        acks = await session.scalar(
            select(func.count()).where(OutboxRow.template == "acknowledgement")
        )
        mapping = dict(
            (
                await session.execute(
                    select(InboundMessageRow.external_id, InboundMessageRow.ticket_id)
                )
            ).all()
        )
    await db.dispose()
    assert (pending, inbound, tickets, acks) == (0, TOTAL, TOTAL, TOTAL)
    assert len(set(mapping.values())) == TOTAL
    for index, number in {**first_answers, **answered}.items():
        if number is not None:
            assert mapping[f"crash-{index}"] == number


async def test_sigterm_finishes_in_flight_work_and_exits_cleanly(
    service: Service, settings: Settings
) -> None:
    db = Database(settings.database)
    token = await create_token(db, "shutdown-test", utcnow)
    service.start()
    await service.wait_ready()
    url = f"http://127.0.0.1:{service.port}/api/v1/messages"
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, json=payload(1), headers={"Authorization": f"Bearer {token}"}) as response,
    ):
        assert response.status == 202
    assert service.process is not None
    service.process.send_signal(signal.SIGTERM)
    assert service.process.wait(timeout=20) == 0
    assert "stopped" in service.log.read_text()
    async with db.read() as session:
        tickets = await session.scalar(select(func.count()).select_from(TicketRow))
    await db.dispose()
    assert tickets == 1
