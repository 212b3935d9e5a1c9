"""SIGKILL the real service in the middle of 1,000 submissions: nothing lost, nothing doubled."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from okno.api.auth import create_token
from okno.app import utcnow
from okno.settings import Settings
from tests.fakes.service import Service, free_port
from ticketing.db import Database
from ticketing.models import InboundMessageRow, OutboxRow, TicketRow

TOTAL = 1000
KILL_AFTER = 300
CONCURRENCY = 16


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
