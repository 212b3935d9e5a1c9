"""The status page over the run's real database (SQLite or PostgreSQL), real TicketService."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncSession

from okno.web.status import status_routes
from ticketing.db import Database, DatabaseSettings
from ticketing.domain import (
    Attachment,
    ChannelKind,
    Notice,
    ReplyAddress,
    Status,
    TicketDetail,
)
from ticketing.models import ContactRow
from ticketing.repository import TicketRepository
from ticketing.service import NewTicket, TicketService
from ticketing.tokens import StatusTokens

Client = TestClient[web.Request, web.Application]
TOKENS = StatusTokens(b"k" * 32)
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def no_notices(_session: AsyncSession, _notices: Sequence[Notice], _now: datetime) -> None:
    return None


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2025, 3, 3, 7, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@dataclass
class Desk:
    """The database, the service and a client of the status page."""

    db: Database
    tickets: TicketService
    client: Client
    clock: Clock

    async def new_ticket(
        self, subject: str = "Не работает принтер", *, text: str = "Принтер не печатает."
    ) -> tuple[int, str]:
        """A ticket from a new contact; returns ``(number, status token)``."""
        async with self.db.transaction() as session:
            contact = ContactRow(
                name="Ольга", locale="ru", timezone="Europe/Moscow", created_at=self.clock()
            )
            session.add(contact)
            await session.flush()
            new = NewTicket(
                subject=subject,
                text=text,
                requester_id=contact.id,
                author_name="Ольга",
                origin_channel=ChannelKind.WEBFORM,
                reply_to=ReplyAddress(channel=ChannelKind.EMAIL, address="olga@example.com"),
                attachments=(
                    Attachment(
                        sha256="a" * 64, filename="фото.jpg", content_type="image/jpeg", size=2048
                    ),
                ),
            )
            row = await self.tickets.create(session, new, self.clock())
            return row.id, TOKENS.token_for(row.id)

    async def agent_says(self, number: int, text: str, *, public: bool) -> None:
        async with self.db.transaction() as session:
            await self.tickets.add_agent_comment(
                session, number, author_name="Сергей", text=text, public=public, now=self.clock()
            )

    async def set_status(self, number: int, status: Status) -> None:
        async with self.db.transaction() as session:
            await self.tickets.change_status(
                session, number, status, actor="Сергей", now=self.clock()
            )

    async def detail(self, number: int) -> TicketDetail:
        async with self.db.read() as session:
            found = await TicketRepository(session).detail(number, public_only=False)
        assert found is not None
        return found

    async def csrf(self, token: str) -> str:
        """Open the status page (setting the cookie) and return its form token."""
        response = await self.client.get(f"/t/{token}")
        assert response.status == 200
        match = _CSRF.search(await response.text())
        assert match is not None
        return match.group(1)


@pytest.fixture
async def desk(database_url: str) -> AsyncIterator[Desk]:
    """The suite's database of this run (migrated SQLite file or scratch PostgreSQL)."""
    db = Database(DatabaseSettings(url=database_url))
    tickets = TicketService(tokens=TOKENS, notices=no_notices)
    clock = Clock()
    app = web.Application()
    app.add_routes(status_routes(db=db, tickets=tickets, secret=b"s" * 32, now=clock))
    try:
        async with TestClient(TestServer(app)) as client:
            yield Desk(db=db, tickets=tickets, client=client, clock=clock)
    finally:
        await db.dispose()
