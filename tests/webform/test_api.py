"""``POST /api/v1/form``: the same rules as the form, answered in JSON."""

from __future__ import annotations

import base64
import io
import json
import uuid
from typing import Any

import pytest

from tests.webform.conftest import MAX_FILE_BYTES, Harness
from ticketing.domain import IntakeOutcome

API = "/api/v1/form"


def payload(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Анна Смирнова",
        "email": "anna@example.com",
        "service": "email",
        "subject": "Не приходит почта",
        "description": "Со вчерашнего дня не приходят письма от клиентов.",
    }
    body.update(overrides)
    return body


def attachment(name: str, content: bytes) -> dict[str, str]:
    return {
        "filename": name,
        "content_type": "text/plain",
        "content_base64": base64.b64encode(content).decode(),
    }


async def test_api_accepts_json_and_answers_202(harness: Harness) -> None:
    submission_id = str(uuid.uuid4())
    body = payload(submission_id=submission_id, attachments=[attachment("лог.txt", b"error 42")])

    response = await harness.client.post(API, json=body)

    assert response.status == 202
    assert await response.json() == {
        "ticket_number": 4567,
        "outcome": "created",
        "status_url": "https://desk.example.com/t/token4567abcdefghijklmnop",
    }
    [message] = harness.sink.messages
    assert message.external_id == submission_id
    assert message.sender.email == "anna@example.com"
    assert message.service == "email"
    assert [(a.filename, a.content) for a in message.attachments] == [("лог.txt", b"error 42")]


async def test_api_makes_a_submission_id_when_none_given(harness: Harness) -> None:
    response = await harness.client.post(API, json=payload())

    assert response.status == 202
    assert uuid.UUID(harness.sink.messages[0].external_id)


async def test_api_queued_outcome_has_no_number_or_link(harness: Harness) -> None:
    harness.sink.outcome = IntakeOutcome.QUEUED

    response = await harness.client.post(API, json=payload())

    assert response.status == 202
    assert await response.json() == {
        "ticket_number": None,
        "outcome": "queued",
        "status_url": None,
    }


async def test_api_names_every_bad_field_and_stores_nothing(harness: Harness) -> None:
    body = payload(name="", email="anna@", service="printers", subject=7, description="short")

    response = await harness.client.post(API, json=body)

    assert response.status == 400
    document = await response.json()
    assert document["error"] == "Проверьте поля заявки."
    assert set(document["fields"]) == {"name", "email", "service", "subject", "description"}
    assert document["fields"]["subject"] == "Ожидается строка."
    assert harness.sink.messages == []


async def test_api_errors_follow_accept_language(harness: Harness) -> None:
    response = await harness.client.post(
        API, json=payload(email="", phone=""), headers={"Accept-Language": "en"}
    )

    document = await response.json()
    assert response.status == 400
    assert document["fields"] == {"contact": "Give an e-mail address or a phone number."}


@pytest.mark.parametrize(
    ("body", "content_type", "status", "error"),
    [
        (b'{"name": "x",', "application/json", 400, "не корректный JSON"),
        (b'["a list"]', "application/json", 400, "не корректный JSON"),
        (b"[" * 100_000, "application/json", 400, "не корректный JSON"),
        ('{"name": "Иван"}'.encode("cp1251"), "application/json", 400, "UTF-8"),
        (b"name=x", "application/x-www-form-urlencoded", 415, "application/x-www-form"),
    ],
)
async def test_api_refuses_a_body_it_cannot_read(
    harness: Harness, body: bytes, content_type: str, status: int, error: str
) -> None:
    response = await harness.client.post(API, data=body, headers={"Content-Type": content_type})

    assert response.status == status
    assert error in (await response.json())["error"]
    assert harness.sink.messages == []


async def test_api_refuses_attachment_over_limit_with_413(harness: Harness) -> None:
    big = attachment("huge.bin", b"x" * (MAX_FILE_BYTES + 1))

    response = await harness.client.post(API, json=payload(attachments=[big]))

    assert response.status == 413
    assert "huge.bin" in (await response.json())["fields"]["attachments"]
    assert harness.sink.messages == []


@pytest.mark.parametrize(
    "attachments",
    [
        [{"filename": "a.txt", "content_base64": "not base64!"}],
        [{"content_base64": "aGVsbG8="}],
        ["aGVsbG8="],
        "aGVsbG8=",
        [attachment(f"{n}.txt", b"x") for n in range(3)],
    ],
)
async def test_api_refuses_malformed_attachments(harness: Harness, attachments: object) -> None:
    response = await harness.client.post(API, json=payload(attachments=attachments))

    assert response.status == 400
    assert "attachments" in (await response.json())["fields"]
    assert harness.sink.messages == []


async def test_api_refuses_body_larger_than_the_budget(harness: Harness) -> None:
    body = json.dumps(payload(padding="x" * 2_000_000)).encode()

    response = await harness.client.post(
        API, data=io.BytesIO(body), headers={"Content-Type": "application/json"}
    )

    assert response.status == 413
    assert harness.sink.messages == []


async def test_api_honeypot_is_refused(harness: Harness) -> None:
    response = await harness.client.post(API, json=payload(website="spam"))

    assert response.status == 400
    assert "fields" not in await response.json()
    assert harness.sink.messages == []
