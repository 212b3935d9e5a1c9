"""The JSON API over HTTP: intake, tickets, comments, status, and every kind of bad input."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from okno.api.auth import create_token
from okno.app import Okno, build_web_app
from ticketing.models import InboundMessageRow, OutboxRow, TicketRow


@pytest.fixture
async def client(okno: Okno) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(build_web_app(okno))) as test_client:
        yield test_client


@pytest.fixture
async def auth(okno: Okno) -> dict[str, str]:
    token = await create_token(okno.db, "tests", okno.now)
    return {"Authorization": f"Bearer {token}"}


def body(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "channel": "api",
        "external_id": "crm-1001",
        "sender": {"name": "Мария Петрова", "email": "m.petrova@example.ru"},
        "subject": "Не работает 1С",
        "text": "При входе в 1С:Бухгалтерию ошибка «Нет лицензии». Работа отдела стоит.",
    }
    data.update(overrides)
    return data


async def counts(okno: Okno) -> tuple[int, int, int]:
    async with okno.db.read() as session:
        return (
            int(await session.scalar(select(func.count()).select_from(TicketRow)) or 0),
            int(await session.scalar(select(func.count()).select_from(InboundMessageRow)) or 0),
            int(await session.scalar(select(func.count()).select_from(OutboxRow)) or 0),
        )


async def test_post_message_creates_ticket_and_redelivery_gives_same_number(
    client: TestClient[Any, Any], auth: dict[str, str], okno: Okno
) -> None:
    response = await client.post("/api/v1/messages", json=body(), headers=auth)
    assert response.status == 202
    first = await response.json()
    assert first["outcome"] == "created"
    assert first["status_url"].startswith("http://127.0.0.1:8080/t/")
    again = await client.post("/api/v1/messages", json=body(), headers=auth)
    assert (await again.json())["ticket_number"] == first["ticket_number"]
    assert await counts(okno) == (1, 1, 1)


async def test_ticket_detail_list_comment_and_status_flow(
    client: TestClient[Any, Any], auth: dict[str, str]
) -> None:
    created = await (await client.post("/api/v1/messages", json=body(), headers=auth)).json()
    number = created["ticket_number"]
    listed = await (await client.get("/api/v1/tickets?status=new", headers=auth)).json()
    assert [t["number"] for t in listed["items"]] == [number]
    note = await client.post(
        f"/api/v1/tickets/{number}/comments",
        json={"text": "Проверить лицензии на сервере", "public": False, "author": "anna"},
        headers=auth,
    )
    assert note.status == 201
    reply = await client.post(
        f"/api/v1/tickets/{number}/comments",
        json={"text": "Перезапустили сервер лицензий, проверьте", "author": "anna"},
        headers=auth,
    )
    assert reply.status == 201
    moved = await client.post(
        f"/api/v1/tickets/{number}/status",
        json={"status": "resolved", "actor": "anna", "comment": "Сервер лицензий перезапущен"},
        headers=auth,
    )
    assert moved.status == 200
    assert (await moved.json())["status"] == "resolved"
    detail = await (await client.get(f"/api/v1/tickets/{number}", headers=auth)).json()
    assert [c["public"] for c in detail["comments"]] == [True, False, True]
    assert detail["first_reaction_at"] is not None
    kinds = [e["kind"] for e in detail["events"]]
    assert kinds[0] == "created"
    assert "status_changed" in kinds
    bad_move = await client.post(
        f"/api/v1/tickets/{number}/status",
        json={"status": "waiting", "actor": "anna"},
        headers=auth,
    )
    assert bad_move.status == 409
    assert "resolved" in (await bad_move.json())["error"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (body(text=""), "text"),
        (body(text="x" * 100_001), "text"),
        (body(external_id=""), "external_id"),
        (body(sender={"name": "Без адреса"}), "sender"),
        (body(sender={"email": "not-an-email"}), "sender.email"),
        (body(channel="pigeon"), "channel"),
        (body(service="teleport"), "service"),
        (body(unexpected=1), "unexpected"),
        (
            body(attachments=[{"filename": "a.txt", "content_base64": "%%%"}]),
            "attachments.0.content_base64",
        ),
    ],
)
async def test_bad_message_gets_4xx_naming_the_field_and_changes_nothing(
    client: TestClient[Any, Any],
    auth: dict[str, str],
    okno: Okno,
    payload: dict[str, Any],
    field: str,
) -> None:
    response = await client.post("/api/v1/messages", json=payload, headers=auth)
    assert response.status == 422
    error = await response.json()
    assert any(name == field or name.startswith(field + ".") for name in error["fields"]), error
    assert await counts(okno) == (0, 0, 0)


async def test_attachment_over_the_limit_is_refused_with_413(
    client: TestClient[Any, Any], auth: dict[str, str], okno: Okno
) -> None:
    big = base64.b64encode(b"x" * (64 * 1024 + 1)).decode()
    response = await client.post(
        "/api/v1/messages",
        json=body(attachments=[{"filename": "dump.bin", "content_base64": big}]),
        headers=auth,
    )
    assert response.status == 413
    assert "attachments.0" in (await response.json())["fields"]
    assert await counts(okno) == (0, 0, 0)


@pytest.mark.parametrize(
    ("raw", "status", "phrase"),
    [
        (b'{"channel": "api",', 400, "malformed JSON"),
        (b'{"text": "\xff\xfe"}', 400, "not valid UTF-8"),
    ],
)
async def test_unreadable_body_is_refused_and_changes_nothing(
    client: TestClient[Any, Any],
    auth: dict[str, str],
    okno: Okno,
    raw: bytes,
    status: int,
    phrase: str,
) -> None:
    response = await client.post(
        "/api/v1/messages",
        data=raw,
        headers={**auth, "Content-Type": "application/json"},
    )
    assert response.status == status
    assert phrase in (await response.json())["error"]
    assert await counts(okno) == (0, 0, 0)


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic dXNlcjpwYXNz"}],
)
async def test_wrong_bearer_token_gets_401_and_changes_nothing(
    client: TestClient[Any, Any], okno: Okno, headers: dict[str, str]
) -> None:
    response = await client.post("/api/v1/messages", json=body(), headers=headers)
    assert response.status == 401
    assert "bearer token" in (await response.json())["error"]
    assert await counts(okno) == (0, 0, 0)


async def test_unknown_ticket_is_404_and_bad_number_400(
    client: TestClient[Any, Any], auth: dict[str, str]
) -> None:
    assert (await client.get("/api/v1/tickets/999999", headers=auth)).status == 404
    assert (await client.get("/api/v1/tickets/abc", headers=auth)).status == 400


async def test_openapi_document_describes_the_endpoints(client: TestClient[Any, Any]) -> None:
    document = await (await client.get("/api/v1/openapi.json")).json()
    assert document["openapi"].startswith("3.")
    assert "/api/v1/messages" in document["paths"]
    assert "MessageIn" in document["components"]["schemas"]


async def test_health_ready_and_metrics(client: TestClient[Any, Any]) -> None:
    assert (await client.get("/healthz")).status == 200
    ready = await client.get("/readyz")
    assert ready.status == 200
    assert (await ready.json())["checks"]["database"] == "ok"
    metrics = await (await client.get("/metrics")).text()
    assert "okno_intake_received" in metrics


def test_openapi_document_is_a_valid_openapi_3_1_spec() -> None:
    from openapi_spec_validator import validate

    from okno.api.openapi import openapi_document

    validate(openapi_document())
