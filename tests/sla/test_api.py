"""The ticket API shows each ticket's SLA: due times, business time left, breach flags."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient, TestServer

from okno.api.auth import create_token
from okno.app import Okno, build_web_app
from tests.sla.conftest import Desk

MOSCOW = ZoneInfo("Europe/Moscow")


def msk(*args: int) -> str:
    """A Moscow wall time as the API writes it (UTC, ISO 8601)."""
    moment = datetime(*args, tzinfo=MOSCOW).astimezone(UTC)  # type: ignore[arg-type, misc]
    return moment.isoformat().replace("+00:00", "Z")


async def client_for(okno: Okno) -> tuple[TestClient[Any, Any], dict[str, str]]:
    client: TestClient[Any, Any] = TestClient(TestServer(build_web_app(okno)))
    await client.start_server()
    token = await create_token(okno.db, "tests", okno.now)
    return client, {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def api(desk: Desk) -> AsyncIterator[tuple[TestClient[Any, Any], dict[str, str]]]:
    client, auth = await client_for(desk.okno)
    try:
        yield client, auth
    finally:
        await client.close()


async def test_ticket_shows_due_times_time_left_and_breaches_when_sla_is_on(
    desk: Desk, api: tuple[TestClient[Any, Any], dict[str, str]]
) -> None:
    client, auth = api
    number = await desk.submit()  # Monday 09:00 Moscow; medium: 4 h reaction, 2 d resolution

    sla = (await (await client.get(f"/api/v1/tickets/{number}", headers=auth)).json())["sla"]
    assert sla == {
        "agreement": "base",
        "reaction_due_at": msk(2026, 3, 2, 13),
        "resolution_due_at": msk(2026, 3, 3, 18),
        "reaction_remaining_s": 4 * 3600.0,
        "resolution_remaining_s": 16 * 3600.0,
        "resolution_paused": False,
        "reaction_breached": False,
        "resolution_breached": False,
        "first_reaction_business_s": None,
        "resolution_business_s": None,
    }

    # 15:00: five business hours have passed (lunch 13–14 does not count).
    desk.clock.advance(timedelta(hours=6))
    listed = await (await client.get("/api/v1/tickets", headers=auth)).json()
    (item,) = [t for t in listed["items"] if t["number"] == number]
    assert item["sla"]["reaction_remaining_s"] == -3600.0
    assert item["sla"]["reaction_breached"] is True
    assert item["sla"]["resolution_remaining_s"] == 11 * 3600.0

    # Waiting on the requester: reaction recorded in business time, resolution paused.
    response = await client.post(
        f"/api/v1/tickets/{number}/status",
        json={"status": "waiting", "actor": "anna"},
        headers=auth,
    )
    assert response.status == 200
    sla = (await response.json())["sla"]
    assert sla["first_reaction_business_s"] == 5 * 3600.0
    assert sla["reaction_remaining_s"] is None
    assert sla["reaction_breached"] is True
    assert sla["resolution_paused"] is True
    desk.clock.advance(timedelta(hours=2))
    sla = (await (await client.get(f"/api/v1/tickets/{number}", headers=auth)).json())["sla"]
    assert sla["resolution_remaining_s"] == 11 * 3600.0
    assert sla["resolution_breached"] is False


async def test_ticket_has_no_sla_when_tracking_is_off(okno: Okno) -> None:
    client, auth = await client_for(okno)
    try:
        response = await client.post(
            "/api/v1/messages",
            json={
                "channel": "api",
                "external_id": "crm-1",
                "sender": {"name": "Мария", "email": "m@example.ru"},
                "subject": "1С",
                "text": "Не запускается 1С",
            },
            headers=auth,
        )
        number = (await response.json())["ticket_number"]
        ticket = await (await client.get(f"/api/v1/tickets/{number}", headers=auth)).json()
        assert ticket["sla"] is None
    finally:
        await client.close()


def test_openapi_document_describes_the_sla_of_a_ticket() -> None:
    from okno.api.openapi import openapi_document

    schemas = openapi_document()["components"]["schemas"]
    assert schemas["TicketOut"]["properties"]["sla"]["anyOf"][0] == {
        "$ref": "#/components/schemas/SlaOut"
    }
    assert {"reaction_remaining_s", "resolution_breached"} <= set(schemas["SlaOut"]["properties"])
