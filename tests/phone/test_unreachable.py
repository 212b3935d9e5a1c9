"""A requester the agents could not call back is told through their other identities."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from notify.render import Renderer
from okno.app import Okno
from ticketing.models import OutboxRow

Client = TestClient[Any, Any]

NUMBER = "+79121234567"


async def write_in(client: Client, auth: dict[str, str], **sender: object) -> int:
    response = await client.post(
        "/api/v1/messages",
        json={
            "external_id": "crm-7",
            "sender": {"name": "Мария", **sender},
            "subject": "Не работает VPN",
            "text": "С утра не подключается VPN, перезвоните, пожалуйста",
        },
        headers=auth,
    )
    assert response.status == 202, await response.text()
    return int((await response.json())["ticket_number"])


async def call(client: Client, auth: dict[str, str], call_id: str, **fields: object) -> Any:
    record = {
        "call_id": call_id,
        "direction": "in",
        "from": "8 (912) 123-45-67",
        "to": "74951234567",
        "started_at": "2026-11-22T09:00:00+03:00",
        "result": "missed",
    } | fields
    response = await client.post("/api/v1/calls", json=record, headers=auth)
    assert response.status == 202, await response.text()
    return await response.json()


async def fail_attempts(okno: Okno, number: int, count: int, first: int = 0) -> None:
    for index in range(first, first + count):
        async with okno.db.transaction() as session:
            await okno.tickets.record_callback_attempt(
                session,
                number,
                reached=False,
                actor="anna",
                now=okno.now(),
                give_up_after=okno.settings.phone.callback_attempts,
                key=f"press-{index}",
            )


async def unreachable_rows(okno: Okno) -> list[OutboxRow]:
    async with okno.db.read() as session:
        query = select(OutboxRow).where(OutboxRow.template == "callback_unreachable")
        return list((await session.scalars(query.order_by(OutboxRow.channel))).all())


async def test_nth_unanswered_attempt_tells_the_requester_by_e_mail_and_telegram(
    client: Client, auth: dict[str, str], okno: Okno
) -> None:
    number = await write_in(
        client, auth, email="maria@example.ru", phone=NUMBER, telegram_id=4242, locale="ru"
    )
    logged = await call(client, auth, "c-1")
    assert (logged["outcome"], logged["ticket_number"]) == ("logged", number)
    attempts = okno.settings.phone.callback_attempts

    await fail_attempts(okno, number, attempts - 1)
    assert await unreachable_rows(okno) == []
    await fail_attempts(okno, number, 1, first=attempts - 1)

    rows = await unreachable_rows(okno)
    assert [(r.channel, r.address, r.ticket_id, r.state) for r in rows] == [
        ("email", "maria@example.ru", number, "pending"),
        ("telegram", "4242", number, "pending"),
    ]
    renderer = Renderer()
    for row in rows:
        rendered = renderer.render(
            row.template, locale=row.locale, timezone=row.timezone, payload=row.payload
        )
        assert rendered.subject == f"[#{number}] Не удалось дозвониться до вас: Не работает VPN"
        assert f"Мы звонили на номер {NUMBER} {attempts} раза, но никто не ответил." in (
            rendered.text
        )
        assert "ответьте на это сообщение" in rendered.text
        assert f"#{number}" in rendered.telegram_html


async def test_further_unanswered_attempts_tell_the_requester_only_once(
    client: Client, auth: dict[str, str], okno: Okno
) -> None:
    number = await write_in(client, auth, email="maria@example.ru", phone=NUMBER)
    await call(client, auth, "c-1")

    await fail_attempts(okno, number, okno.settings.phone.callback_attempts + 2)

    assert [r.channel for r in await unreachable_rows(okno)] == ["email"]


async def test_unanswered_call_backs_from_the_pbx_count_and_tell_in_english(
    client: Client, auth: dict[str, str], okno: Okno
) -> None:
    number = await write_in(client, auth, email="mary@example.com", phone=NUMBER, locale="en")
    await call(client, auth, "c-1")
    # The agents call back from the PBX; nobody picks up. Each outbound call is an attempt.
    for index in range(okno.settings.phone.callback_attempts):
        out = await call(
            client,
            auth,
            f"back-{index}",
            direction="out",
            **{"from": "74951234567", "to": "+7 912 123 45 67"},
        )
        assert (out["outcome"], out["ticket_number"]) == ("logged", number)

    [row] = await unreachable_rows(okno)
    assert (row.channel, row.address, row.locale) == ("email", "mary@example.com", "en")
    rendered = Renderer().render(
        row.template, locale=row.locale, timezone=row.timezone, payload=row.payload
    )
    assert rendered.subject == f"[#{number}] We could not reach you by phone: Не работает VPN"
    assert f"We called {NUMBER} 3 times and nobody answered." in rendered.text


async def test_a_phone_only_requester_gets_no_message_when_unreachable(
    client: Client, auth: dict[str, str], okno: Okno
) -> None:
    created = await call(client, auth, "c-1")
    assert created["outcome"] == "created"
    number = int(created["ticket_number"])

    await fail_attempts(okno, number, okno.settings.phone.callback_attempts)

    async with okno.db.read() as session:
        events = await okno.tickets.callback_status(session, number)
    assert events == (True, okno.settings.phone.callback_attempts)
    assert await unreachable_rows(okno) == []


@pytest.mark.parametrize(
    ("locale", "attempts", "phone", "sentence"),
    [
        ("ru", 1, NUMBER, f"Мы звонили на номер {NUMBER} 1 раз, но никто не ответил."),
        ("ru", 5, NUMBER, f"Мы звонили на номер {NUMBER} 5 раз, но никто не ответил."),
        ("ru", 2, None, "Мы звонили вам 2 раза, но никто не ответил."),
        ("en", 1, NUMBER, f"We called {NUMBER} 1 time and nobody answered."),
        ("en", 4, None, "We called you 4 times and nobody answered."),
    ],
)
def test_attempts_are_counted_in_words_of_the_locale(
    locale: str, attempts: int, phone: str | None, sentence: str
) -> None:
    payload = {
        "ticket_number": 7,
        "subject": "VPN",
        "status_url": "https://desk.example/t/abc",
        "attempts": attempts,
        "phone": phone,
    }
    rendered = Renderer().render(
        "callback_unreachable", locale=locale, timezone="Europe/Moscow", payload=payload
    )
    assert sentence in rendered.text
    assert sentence in rendered.telegram_html
    assert rendered.html is not None
    assert sentence in rendered.html
