"""Through the real ``okno serve``: a signed Mango summary for a missed call makes exactly one
call-back ticket however often and in whatever order its events arrive, a kill included."""

from __future__ import annotations

import asyncio
import random
import signal
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select

from okno.api.auth import create_token
from okno.app import utcnow
from okno.settings import Settings
from tests.fakes.service import Service, free_port
from tests.phone.mango import FORM, KEY, SALT, Event, form_body, missed_call
from ticketing.db import Database
from ticketing.models import TicketEventRow, TicketRow
from ticketing.rows_phone import CallEventRow, CallRow


@pytest.fixture
def service(settings: Settings, tmp_path: Path) -> Iterator[Service]:
    running = Service(settings, free_port(), tmp_path / "service.log")
    running.env |= {
        "OKNO_PHONE__ENABLED": "true",
        "OKNO_PHONE__MANGO__ENABLED": "true",
        "OKNO_PHONE__MANGO__VPBX_API_KEY": KEY,
        "OKNO_PHONE__MANGO__VPBX_API_SALT": SALT,
    }
    yield running
    running.stop()


async def send(http: aiohttp.ClientSession, port: int, event: Event, **form: str) -> int:
    kind, text = event
    url = f"http://127.0.0.1:{port}/phone/mango/events/{kind}"
    try:
        async with http.post(
            url, data=form_body(text, **form), headers={"Content-Type": FORM}
        ) as response:
            return response.status
    except (TimeoutError, aiohttp.ClientError):
        return 0  # no answer (the service was killed): Mango would send it again


async def tickets_and_calls(db: Database) -> tuple[int, dict[str, str]]:
    async with db.read() as session:
        tickets = int(await session.scalar(select(func.count()).select_from(TicketRow)) or 0)
        calls = dict((await session.execute(select(CallRow.key, CallRow.state))).all())
    return tickets, calls


async def stored(db: Database) -> tuple[int, int, int]:
    """Tickets, ticket events and call events: what a refused request must leave as it was."""
    async with db.read() as session:
        return (
            int(await session.scalar(select(func.count()).select_from(TicketRow)) or 0),
            int(await session.scalar(select(func.count()).select_from(TicketEventRow)) or 0),
            int(await session.scalar(select(func.count()).select_from(CallEventRow)) or 0),
        )


async def logged_calls(db: Database) -> dict[str, int | None]:
    """The ticket each call was linked to."""
    async with db.read() as session:
        return dict((await session.execute(select(CallRow.key, CallRow.ticket_id))).all())


async def settled(db: Database, keys: set[str]) -> tuple[int, dict[str, str]]:
    for _ in range(200):
        tickets, calls = await tickets_and_calls(db)
        if keys <= {k for k, state in calls.items() if state == "linked"}:
            break
        await asyncio.sleep(0.1)
    return tickets, calls


@pytest.mark.timeout(300)
async def test_mango_events_in_any_order_and_a_kill_make_one_call_back_ticket(
    service: Service, settings: Settings
) -> None:
    db = Database(settings.database)
    port = service.port
    events = missed_call("serve-1", "79121234567")
    timeout = aiohttp.ClientTimeout(total=20)
    service.start()
    await service.wait_ready()
    async with aiohttp.ClientSession(timeout=timeout) as http:
        first = events * 2
        random.Random(11).shuffle(first)
        for event in first[:6]:
            assert await send(http, port, event) == 200
        service.kill()
    service.start()
    await service.wait_ready()
    async with aiohttp.ClientSession(timeout=timeout) as http:
        again = events * 3
        random.Random(12).shuffle(again)
        statuses = await asyncio.gather(*(send(http, port, e) for e in again))
        assert set(statuses) == {200}
        tickets, calls = await settled(db, {"serve-1"})
        assert (tickets, calls) == (1, {"serve-1": "linked"})

        # A bad signature changes nothing.
        before = await stored(db)
        assert await send(http, port, events[-1], salt="not-the-salt") == 403
        assert await send(http, port, missed_call("serve-x", "79990000000")[-1], key="k") == 403
        assert await tickets_and_calls(db) == (1, {"serve-1": "linked"})
        assert await stored(db) == before

        # The same person again, written differently: logged on the same ticket.
        for event in missed_call("serve-2", "8 (912) 123-45-67", at=1_763_810_000):
            assert await send(http, port, event) == 200
        tickets, calls = await settled(db, {"serve-1", "serve-2"})
        assert tickets == 1
        linked = await logged_calls(db)
        assert linked["serve-2"] == linked["serve-1"] is not None
        async with db.read() as session:
            on_ticket = list(
                await session.scalars(
                    select(TicketEventRow.kind).where(
                        TicketEventRow.ticket_id == linked["serve-1"],
                        TicketEventRow.kind.in_(["call_logged", "callback_needed"]),
                    )
                )
            )
        # The second call is noted on the ticket and asks for a call-back again.
        assert sorted(on_ticket) == ["call_logged", "callback_needed", "callback_needed"]

        # The generic endpoint behaves the same.
        token = await create_token(db, "pbx", utcnow)
        url = f"http://127.0.0.1:{port}/api/v1/calls"
        record = {
            "call_id": "generic-1",
            "direction": "in",
            "from": "+7 915 000 11 22",
            "to": "74951234567",
            "started_at": "2026-11-22T09:00:00+03:00",
            "result": "missed",
        }
        headers = {"Authorization": f"Bearer {token}"}
        answers = []
        for body in (record, record, {**record, "call_id": "generic-2"}):
            async with http.post(url, json=body, headers=headers) as response:
                assert response.status == 202
                answers.append(await response.json())
        assert [a["outcome"] for a in answers] == ["created", "created", "logged"]
        assert len({a["ticket_number"] for a in answers}) == 1
        before = await stored(db)
        async with http.post(url, json=record, headers={"Authorization": "Bearer no"}) as bad:
            assert bad.status == 401
        assert await stored(db) == before
    tickets, calls = await tickets_and_calls(db)
    await db.dispose()
    assert tickets == 2
    assert set(calls.values()) == {"linked"}
    assert service.process is not None
    service.process.send_signal(signal.SIGTERM)
    assert service.process.wait(timeout=20) == 0
