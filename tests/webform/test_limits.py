"""Per-IP and per-address rate limits on the form and the API: 429 with ``Retry-After``."""

from __future__ import annotations

import pytest

from channels.webform.settings import WebformSettings
from tests.webform.conftest import Harness, open_form, submit, valid_fields

API = "/api/v1/form"


def api_body(email: str) -> dict[str, str]:
    return {
        "name": "Пётр",
        "email": email,
        "subject": "Принтер",
        "description": "Принтер на третьем этаже не печатает.",
    }


@pytest.fixture
def settings() -> WebformSettings:
    return WebformSettings(max_requests_per_ip_per_hour=3, max_requests_per_address_per_hour=2)


async def test_form_shows_clear_message_with_429_when_ip_limit_is_reached(
    harness: Harness,
) -> None:
    for number in range(3):
        hidden = await open_form(harness.client)
        fields = valid_fields(email=f"user{number}@example.com")
        assert (await submit(harness.client, fields, hidden=hidden)).status == 200
    hidden = await open_form(harness.client)

    response = await submit(harness.client, valid_fields(email="new@example.com"), hidden=hidden)

    page = await response.text()
    assert response.status == 429
    assert 0 < int(response.headers["Retry-After"]) <= 3600
    assert "Недавно отправлено слишком много заявок" in page
    assert 'value="new@example.com"' in page
    assert len(harness.sink.messages) == 3


async def test_ip_limit_opens_again_after_an_hour(harness: Harness) -> None:
    for number in range(3):
        await harness.client.post(API, json=api_body(f"u{number}@example.com"))
    assert (await harness.client.post(API, json=api_body("x@example.com"))).status == 429

    harness.clock.advance(3601)

    assert (await harness.client.post(API, json=api_body("x@example.com"))).status == 202


async def test_api_answers_429_with_retry_after_when_address_limit_is_reached(
    harness: Harness,
) -> None:
    await harness.client.post(API, json=api_body("same@example.com"))
    await harness.client.post(API, json=api_body("SAME@example.com"))

    response = await harness.client.post(API, json=api_body("same@example.com"))

    document = await response.json()
    assert response.status == 429
    assert response.headers["Retry-After"] == str(document["retry_after"])
    assert "слишком много заявок" in document["error"]
    assert len(harness.sink.messages) == 2


@pytest.mark.parametrize("trust_forwarded_for", [True])
async def test_forwarded_for_gives_each_client_its_own_quota_when_trusted(
    harness: Harness,
) -> None:
    for number in range(3):
        headers = {"X-Forwarded-For": "203.0.113.7, 10.0.0.1"}
        await harness.client.post(API, json=api_body(f"a{number}@example.com"), headers=headers)

    blocked = await harness.client.post(
        API, json=api_body("b@example.com"), headers={"X-Forwarded-For": "203.0.113.7"}
    )
    other = await harness.client.post(
        API, json=api_body("c@example.com"), headers={"X-Forwarded-For": "198.51.100.2"}
    )

    assert (blocked.status, other.status) == (429, 202)
    assert harness.sink.messages[0].meta == {"client_ip": "203.0.113.7"}


async def test_forwarded_for_is_ignored_when_not_trusted(harness: Harness) -> None:
    for number in range(3):
        headers = {"X-Forwarded-For": f"203.0.113.{number}"}
        await harness.client.post(API, json=api_body(f"a{number}@example.com"), headers=headers)

    response = await harness.client.post(
        API, json=api_body("b@example.com"), headers={"X-Forwarded-For": "198.51.100.2"}
    )

    assert response.status == 429


@pytest.mark.parametrize("trust_forwarded_for", [True])
async def test_unparsable_forwarded_for_falls_back_to_the_peer(harness: Harness) -> None:
    response = await harness.client.post(
        API, json=api_body("a@example.com"), headers={"X-Forwarded-For": "unknown, 10.0.0.1"}
    )

    assert response.status == 202
    assert harness.sink.messages[0].meta == {"client_ip": "127.0.0.1"}
