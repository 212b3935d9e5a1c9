"""``POST /api/v1/messages`` reads ``sender.phone`` as the phone channel does: one contact."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from okno.app import Okno
from tests.phone.mango import counts, missed_call, post_event
from ticketing.models import IdentityRow

Client = TestClient[Any, Any]


async def message(client: Client, auth: dict[str, str], phone: object) -> Any:
    response = await client.post(
        "/api/v1/messages",
        json={
            "external_id": "crm-42",
            "sender": {"name": "Пётр", "phone": phone},
            "subject": "Не работает телефон",
            "text": "Внутренний номер 204 не звонит наружу",
        },
        headers=auth,
    )
    return response.status, await response.json()


async def phone_identities(okno: Okno) -> list[str]:
    async with okno.db.read() as session:
        query = select(IdentityRow.value).where(IdentityRow.kind == "phone")
        return list(await session.scalars(query))


async def test_an_api_sender_and_a_mango_caller_written_differently_are_one_contact(
    client: Client, auth: dict[str, str], okno: Okno
) -> None:
    status, created = await message(client, auth, "8 (912) 123-45-67")
    assert (status, created["outcome"]) == (202, "created")
    assert await phone_identities(okno) == ["+79121234567"]

    for event in missed_call("entry-api", "79121234567"):
        assert (await post_event(client, *event)).status == 200

    # The missed call found the API ticket as the caller's open ticket: no second ticket.
    after = await counts(okno)
    assert after["ticket"] == 1
    assert await phone_identities(okno) == ["+79121234567"]
    detail = await client.get(f"/api/v1/tickets/{created['ticket_number']}", headers=auth)
    kinds = [e["kind"] for e in (await detail.json())["events"]]
    assert {"call_logged", "callback_needed"} <= set(kinds)


@pytest.mark.parametrize("phone", ["+7 912 123 45 67", "79121234567", "8-912-123-45-67"])
async def test_every_way_of_writing_a_number_is_stored_in_e164(
    client: Client, auth: dict[str, str], okno: Okno, phone: str
) -> None:
    status, _ = await message(client, auth, phone)
    assert status == 202
    assert await phone_identities(okno) == ["+79121234567"]


@pytest.mark.parametrize(
    "phone",
    [
        "8 (000) 000-00-00",  # the right shape, but no such number
        "12345",
        "+7 912 123 45 67 89 01",
        "abc",
        "+79121234567; DROP TABLE contact",
        79121234567,
    ],
)
async def test_an_invalid_number_is_422_naming_the_field_and_changes_nothing(
    client: Client, auth: dict[str, str], okno: Okno, phone: object
) -> None:
    before = await counts(okno)
    status, answer = await message(client, auth, phone)
    assert status == 422, answer
    assert set(answer["fields"]) == {"sender.phone"}
    assert await counts(okno) == before
    assert await phone_identities(okno) == []
