"""Threading rules through the running service: closed tickets, late replies, strangers' tags."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from okno.api.auth import create_token
from okno.app import build_web_app
from okno.settings import Settings
from tests.email.conftest import Desk, running_desk
from tests.email.test_scenarios import append, count, mail, processed
from tests.fakes.dovecot import FakeDovecot
from ticketing.domain import Status
from ticketing.models import CommentRow, TicketRow, utcnow

LATE = "<late@example.ru>"


async def close_ticket(desk: Desk, number: int, *, days_ago: float) -> None:
    """Resolve and close the ticket through the service, then date the closing back."""
    for target in (Status.RESOLVED, Status.CLOSED):
        async with desk.okno.db.transaction() as session:
            await desk.okno.tickets.change_status(
                session, number, target, actor="anna", now=utcnow()
            )
    async with desk.okno.db.transaction() as session:
        ticket = await session.get(TicketRow, number)
        assert ticket is not None
        ticket.closed_at = utcnow() - timedelta(days=days_ago)


async def api_detail(desk: Desk, number: int) -> dict[str, Any]:
    """The ticket as ``GET /api/v1/tickets/<number>`` shows it."""
    token = await create_token(desk.okno.db, f"tests-{uuid.uuid4().hex}", desk.okno.now)
    async with TestClient(TestServer(build_web_app(desk.okno))) as client:
        response = await client.get(
            f"/api/v1/tickets/{number}", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status == 200
        detail: dict[str, Any] = await response.json()
    return detail


def events(detail: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["data"] for e in detail["events"] if e["kind"] == kind]


async def statuses(desk: Desk) -> list[str]:
    async with desk.okno.db.read() as session:
        return list(await session.scalars(select(TicketRow.status).order_by(TicketRow.id)))


@pytest.fixture
def long_window(mail_settings: Settings) -> Settings:
    router = mail_settings.router.model_copy(update={"reopen_window_days": 40})
    return mail_settings.model_copy(update={"router": router})


async def test_reply_to_a_closed_ticket_within_the_period_reopens_it(
    desk: Desk, dovecot: FakeDovecot, mail_user: str
) -> None:
    await append(dovecot, mail_user, mail())
    desk.start_imap()
    await processed(desk, 1)
    await close_ticket(desk, 1, days_ago=13)
    reply = mail(subject="Re: [#1] Не работает VPN", text="Снова не работает.", message_id=LATE)
    await append(dovecot, mail_user, reply)
    await processed(desk, 2)
    assert await statuses(desk) == ["reopened"]
    detail = await api_detail(desk, 1)
    assert detail["comments"][-1]["body"] == "Снова не работает."
    assert events(detail, "related_opened") == []


async def test_reply_after_the_reopen_period_opens_a_new_ticket_linked_to_the_old(
    desk: Desk, dovecot: FakeDovecot, mail_user: str
) -> None:
    await append(dovecot, mail_user, mail())
    desk.start_imap()
    await processed(desk, 1)
    await close_ticket(desk, 1, days_ago=15)  # the default window is 14 days
    late = mail(
        subject="Re: [#1] Не работает VPN",
        text="Опять не работает, уже месяц спустя.",
        message_id=LATE,
    )
    await append(dovecot, mail_user, late)
    await processed(desk, 2)
    assert await statuses(desk) == ["closed", "new"]
    new, old = await api_detail(desk, 2), await api_detail(desk, 1)
    [created] = events(new, "created")
    assert created["related_ticket"] == 1
    assert events(old, "related_opened") == [{"related_ticket": 2}]
    assert [c["body"] for c in old["comments"]] == ["VPN не подключается с утра, ошибка 809."]


async def test_reopen_period_comes_from_the_router_settings(
    long_window: Settings, dovecot: FakeDovecot, mail_user: str
) -> None:
    async with running_desk(long_window) as desk:
        await append(dovecot, mail_user, mail())
        desk.start_imap()
        await processed(desk, 1)
        await close_ticket(desk, 1, days_ago=30)
        await append(dovecot, mail_user, mail(subject="Re: [#1] VPN", message_id=LATE))
        await processed(desk, 2)
        assert await statuses(desk) == ["reopened"]


async def test_late_reply_by_message_reference_alone_is_linked_too(
    desk: Desk, dovecot: FakeDovecot, mail_user: str
) -> None:
    await append(dovecot, mail_user, mail())
    desk.start_imap()
    await processed(desk, 1)
    await close_ticket(desk, 1, days_ago=100)
    late = mail(
        subject="Ещё вопрос",
        text="А можно ещё настроить почту?",
        message_id=LATE,
        headers={"In-Reply-To": "<m1@example.ru>", "References": "<m1@example.ru>"},
    )
    await append(dovecot, mail_user, late)
    await processed(desk, 2)
    [created] = events(await api_detail(desk, 2), "created")
    assert created["related_ticket"] == 1


async def test_a_stranger_using_the_tag_gets_a_new_ticket_linked_to_it(
    desk: Desk, dovecot: FakeDovecot, mail_user: str
) -> None:
    await append(dovecot, mail_user, mail())
    desk.start_imap()
    await processed(desk, 1)
    other = mail(
        sender="stranger@evil.example",
        subject="Re: [#1] Не работает VPN",
        text="Дайте доступ к заявке.",
        message_id="<s1@evil.example>",
    )
    await append(dovecot, mail_user, other)
    await processed(desk, 2)
    assert await statuses(desk) == ["new", "new"]
    assert await count(desk, CommentRow, CommentRow.ticket_id == 1) == 1
    [created] = events(await api_detail(desk, 2), "created")
    assert created["related_ticket"] == 1
    assert events(await api_detail(desk, 1), "related_opened") == [{"related_ticket": 2}]


async def test_a_tag_naming_no_ticket_opens_an_unlinked_ticket(
    desk: Desk, dovecot: FakeDovecot, mail_user: str
) -> None:
    await append(dovecot, mail_user, mail(subject="Re: [#777] Не работает VPN"))
    desk.start_imap()
    await processed(desk, 1)
    [created] = events(await api_detail(desk, 1), "created")
    assert "related_ticket" not in created
