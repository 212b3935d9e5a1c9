"""``POST /api/v1/calls``: the generic call record behaves like the Mango webhooks."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from okno.app import Okno
from tests.phone.mango import counts

Client = TestClient[Any, Any]


def record(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "call_id": "pbx-1001",
        "direction": "in",
        "from": "8 (912) 123-45-67",
        "to": "74951234567",
        "started_at": "2026-11-22T09:00:00+03:00",
        "ended_at": "2026-11-22T09:00:40+03:00",
        "result": "missed",
        "agent": "101",
    }
    body.update(changes)
    return body


async def post(client: Client, auth: dict[str, str], body: Any) -> tuple[int, dict[str, Any]]:
    response = await client.post("/api/v1/calls", json=body, headers=auth)
    return response.status, await response.json()


async def test_missed_call_opens_a_call_back_ticket_and_a_repeat_gives_the_same_answer(
    client: Client, auth: dict[str, str], okno: Okno
) -> None:
    status, first = await post(client, auth, record())
    assert status == 202
    assert first["outcome"] == "created"
    assert first["status_url"].startswith("http://127.0.0.1:8080/t/")
    again = await asyncio.gather(*(post(client, auth, record()) for _ in range(3)))
    assert {(s, a["ticket_number"]) for s, a in again} == {(202, first["ticket_number"])}
    async with okno.db.read() as session:
        ticket = await okno.tickets.load(session, first["ticket_number"])
        assert ticket.subject == "Пропущенный звонок от +7 912 123-45-67"
        assert await okno.tickets.callback_status(session, ticket.id) == (True, 0)
    after = await counts(okno)
    assert (after["ticket"], after["call"], after["call_event"]) == (1, 1, 1)


async def test_second_call_from_the_same_person_is_logged_with_its_recording(
    client: Client, auth: dict[str, str], okno: Okno
) -> None:
    _, first = await post(client, auth, record())
    _, second = await post(
        client,
        auth,
        record(
            call_id="pbx-1002",
            **{"from": "+7 912 123 45 67"},
            result="answered",
            answered_at="2026-11-22T10:00:05+03:00",
            started_at="2026-11-22T10:00:00+03:00",
            ended_at="2026-11-22T10:03:05+03:00",
            recording_url="https://pbx.example.ru/rec/1002.mp3",
        ),
    )
    assert (second["outcome"], second["ticket_number"]) == ("logged", first["ticket_number"])
    async with okno.db.read() as session:
        detail = await okno.tickets.callback_status(session, first["ticket_number"])
    assert detail == (False, 0)  # the answered call reached them
    after = await counts(okno)
    assert (after["ticket"], after["recording"]) == (1, 1)
    assert after["comment"] == 3  # the ticket's message, the call, the recording link


async def test_a_later_record_of_the_same_call_may_add_a_recording(
    client: Client, auth: dict[str, str], okno: Okno
) -> None:
    _, first = await post(client, auth, record())
    _, again = await post(client, auth, record(recording_url="https://pbx.example.ru/r/1.mp3"))
    assert again["ticket_number"] == first["ticket_number"]
    after = await counts(okno)
    assert (after["ticket"], after["call_event"], after["recording"]) == (1, 2, 1)


async def test_outbound_and_answered_calls_without_an_open_ticket_are_only_recorded(
    client: Client, auth: dict[str, str], okno: Okno
) -> None:
    _, out = await post(
        client, auth, record(direction="out", **{"from": "103"}, to="+79121234567")
    )
    _, answered = await post(
        client,
        auth,
        record(call_id="pbx-2", result="answered", answered_at="2026-11-22T09:00:02+03:00"),
    )
    assert out["outcome"] == answered["outcome"] == "ignored"
    assert (await counts(okno))["ticket"] == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (record(call_id=None), "call_id"),
        ({k: v for k, v in record().items() if k != "call_id"}, "call_id"),
        (record(call_id="has spaces"), "call_id"),
        (record(direction="sideways"), "direction"),
        ({k: v for k, v in record().items() if k != "from"}, "from"),
        (record(**{"from": "not a number"}), "from"),
        (record(direction="out", to="sip:someone@pbx"), "to"),
        (record(started_at="2026-11-22T09:00:00"), "started_at"),  # no offset
        (record(started_at="yesterday"), "started_at"),
        (record(result="maybe"), "result"),
        (record(answered_at="2026-11-22T09:00:05+03:00"), "answered_at"),  # but missed
        (record(ended_at="2026-11-22T08:00:00+03:00"), "ended_at"),
        (record(recording_url="ftp://pbx/rec.mp3"), "recording_url"),
        (record(recording_url="javascript:alert(1)"), "recording_url"),
        (record(agent=["a"]), "agent"),
        (record(agent="x" * 201), "agent"),
        (record(extra="field"), "extra"),
    ],
)
async def test_invalid_records_are_422_naming_the_field_and_change_nothing(
    client: Client, auth: dict[str, str], okno: Okno, body: dict[str, Any], field: str
) -> None:
    before = await counts(okno)
    status, answer = await post(client, auth, body)
    assert status == 422
    assert field in answer["fields"], answer
    assert await counts(okno) == before


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        (json.dumps(record()), "text/plain", 415),
        (b'{"call_id": "\xff"}', "application/json", 400),
        ("{not json", "application/json", 400),
        ("[]", "application/json", 400),
        ('{"a":' * 2000 + "1" + "}" * 2000, "application/json", 400),
        (json.dumps(record(agent="x" * 70_000)), "application/json", 413),
        (json.dumps(record(agent="a\u0000b")), "application/json", 400),
    ],
)
async def test_malformed_bodies_are_4xx_and_change_nothing(
    client: Client,
    auth: dict[str, str],
    okno: Okno,
    data: str | bytes,
    content_type: str,
    status: int,
) -> None:
    before = await counts(okno)
    response = await client.post(
        "/api/v1/calls", data=data, headers={**auth, "Content-Type": content_type}
    )
    assert response.status == status, await response.text()
    assert "error" in await response.json()
    assert await counts(okno) == before


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Basic dXNlcjpwYXNz"])
async def test_a_missing_or_wrong_token_is_401(
    client: Client, okno: Okno, header: str | None
) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = await client.post("/api/v1/calls", json=record(), headers=headers)
    assert response.status == 401
    assert (await counts(okno))["call"] == 0


async def test_the_openapi_document_publishes_the_call_record_schema(client: Client) -> None:
    document = await (await client.get("/api/v1/openapi.json")).json()
    operation = document["paths"]["/api/v1/calls"]["post"]
    schema_ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = document["components"]["schemas"][schema_ref.rsplit("/", 1)[-1]]
    assert set(schema["required"]) == {
        "call_id",
        "direction",
        "from",
        "to",
        "result",
        "started_at",
    }
    assert set(schema["properties"]) == {
        "call_id",
        "direction",
        "from",
        "to",
        "started_at",
        "answered_at",
        "ended_at",
        "result",
        "agent",
        "recording_url",
    }
    assert {"202", "400", "401", "413", "415", "422"} <= set(operation["responses"])


async def _chunks(total: int) -> Any:
    for _ in range(total // 8192):
        yield b" " * 8192


async def test_a_huge_body_without_a_length_is_413_and_changes_nothing(
    client: Client, auth: dict[str, str], okno: Okno
) -> None:
    before = await counts(okno)
    response = await client.post(
        "/api/v1/calls",
        data=_chunks(8 * 1024 * 1024),
        headers={**auth, "Content-Type": "application/json"},
    )
    assert response.status == 413
    assert "error" in await response.json()
    assert await counts(okno) == before


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"call_id": "pbx-1"},
        record(call_id=None),
        record(call_id=1001),
        record(started_at=None),
        record(direction=None),
        record(result=True),
        record(**{"from": {"number": "79121234567"}}),
        record(to=["74951234567"]),
        record(started_at="yesterday"),
    ],
)
async def test_missing_fields_and_wrong_types_are_422_and_change_nothing(
    client: Client, auth: dict[str, str], okno: Okno, body: dict[str, Any]
) -> None:
    before = await counts(okno)
    status, answer = await post(client, auth, body)
    assert status == 422, answer
    assert answer["fields"]
    assert await counts(okno) == before


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Bearer "])
async def test_a_wrong_token_changes_nothing_even_with_a_valid_record(
    client: Client, okno: Okno, header: str | None
) -> None:
    before = await counts(okno)
    headers = {} if header is None else {"Authorization": header}
    response = await client.post("/api/v1/calls", json=record(), headers=headers)
    assert response.status == 401
    assert await counts(okno) == before
