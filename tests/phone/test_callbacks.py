"""Call-backs: the agents are asked, attempts are counted, and a phone-only reply is never lost."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from okno.app import Okno
from ticketing.domain import ChannelKind, Notice
from ticketing.models import OutboxRow

Client = TestClient[Any, Any]


class Notices:
    """A notice sink that remembers what the agents' side would be told."""

    def __init__(self) -> None:
        self.seen: list[Notice] = []

    async def __call__(
        self, session: AsyncSession, notices: Sequence[Notice], now: datetime
    ) -> None:
        self.seen.extend(notices)

    def of(self, kind: str) -> list[Notice]:
        return [n for n in self.seen if n.kind == kind]


@pytest.fixture
def notices(okno: Okno) -> Notices:
    sink = Notices()
    # Where the Telegram wiring's sink sits: it attaches before the phone wiring (whose sink
    # is the last one; see CHANNEL_WIRINGS in okno.app), so it sees "created" before the
    # call-back notice that the phone sink announces in response.
    okno.notice_sinks.insert(len(okno.notice_sinks) - 1, sink)
    return sink


async def missed_call_ticket(client: Client, auth: dict[str, str], call_id: str = "c-1") -> int:
    response = await client.post(
        "/api/v1/calls",
        json={
            "call_id": call_id,
            "direction": "in",
            "from": "89121234567",
            "to": "74951234567",
            "started_at": "2026-11-22T09:00:00+03:00",
            "result": "missed",
        },
        headers=auth,
    )
    answer = await response.json()
    assert answer["outcome"] in {"created", "logged"}
    return int(answer["ticket_number"])


async def test_a_missed_call_ticket_asks_the_agents_for_a_call_back(
    client: Client, auth: dict[str, str], notices: Notices
) -> None:
    number = await missed_call_ticket(client, auth)
    [asked] = notices.of("callback_needed")
    assert asked.ticket.number == number
    assert asked.data["reason"] == "missed_call"
    assert asked.data["details"]["number"] == "+79121234567"
    assert [n.kind for n in notices.seen][:2] == ["created", "callback_needed"]


async def test_unanswered_attempts_are_counted_and_the_nth_tells_the_requester_elsewhere(
    client: Client, auth: dict[str, str], okno: Okno, notices: Notices
) -> None:
    number = await missed_call_ticket(client, auth)
    counted = []
    for index in range(4):
        async with okno.db.transaction() as session:
            counted.append(
                await okno.tickets.record_callback_attempt(
                    session,
                    number,
                    reached=False,
                    actor="anna",
                    now=okno.now(),
                    give_up_after=3,
                    key=f"press-{index}",
                )
            )
    assert counted == [1, 2, 3, 4]
    [unreachable] = notices.of("callback_unreachable")
    assert unreachable.data["unanswered"] == 3
    assert unreachable.data["identities"] == [{"kind": "phone", "value": "+79121234567"}]
    async with okno.db.read() as session:
        assert await okno.tickets.callback_status(session, number) == (True, 4)


async def test_a_repeated_button_press_counts_once_and_reaching_them_resets(
    client: Client, auth: dict[str, str], okno: Okno
) -> None:
    number = await missed_call_ticket(client, auth)
    for _ in range(2):
        async with okno.db.transaction() as session:
            await okno.tickets.record_callback_attempt(
                session,
                number,
                reached=False,
                actor="anna",
                now=okno.now(),
                give_up_after=3,
                key="callback-query-1",
            )
    async with okno.db.transaction() as session:
        assert await okno.tickets.callback_status(session, number) == (True, 1)
        await okno.tickets.record_callback_attempt(
            session, number, reached=True, actor="anna", now=okno.now(), give_up_after=3
        )
        assert await okno.tickets.callback_status(session, number) == (False, 0)


async def test_a_reply_to_a_phone_only_requester_becomes_a_call_back_prompt(
    client: Client, auth: dict[str, str], okno: Okno, notices: Notices
) -> None:
    number = await missed_call_ticket(client, auth)
    response = await client.post(
        f"/api/v1/tickets/{number}/comments",
        json={"text": "Перезагрузите роутер и перезвоните", "author": "anna"},
        headers=auth,
    )
    assert response.status == 201
    prompts = [n for n in notices.of("callback_needed") if n.data["reason"] == "public_reply"]
    assert [p.data["details"]["text"] for p in prompts] == ["Перезагрузите роутер и перезвоните"]
    async with okno.db.read() as session:
        outbox = (
            await session.scalars(select(OutboxRow).where(OutboxRow.template == "public_reply"))
        ).one()
    # notify has no phone channel: the row waits (never dropped) while the agents call.
    assert (outbox.channel, outbox.state) == (ChannelKind.PHONE.value, "pending")


async def test_a_reply_to_an_e_mail_requester_is_no_call_back_prompt(
    client: Client, auth: dict[str, str], notices: Notices
) -> None:
    created = await client.post(
        "/api/v1/messages",
        json={
            "external_id": "crm-1",
            "sender": {"name": "Мария", "email": "maria@example.ru", "phone": "+79121234567"},
            "subject": "Не печатает принтер",
            "text": "Принтер в 301 кабинете не печатает с утра",
        },
        headers=auth,
    )
    number = (await created.json())["ticket_number"]
    await client.post(
        f"/api/v1/tickets/{number}/comments",
        json={"text": "Заменили картридж", "author": "anna"},
        headers=auth,
    )
    assert notices.of("callback_needed") == []
