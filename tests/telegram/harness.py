"""A running okno with the Telegram channel pointed at the fake Bot API, and update builders.

Shared by tests/telegram and tests/bot: ``TelegramHarness`` starts the router, the notify
dispatcher and the ``telegram`` role (desk, albums, polling) against :class:`FakeTelegramAPI`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry
from pydantic import SecretStr
from sqlalchemy import select

from bot.callbacks import CallbackSigner
from channels.telegram.settings import TelegramLimits, TelegramMode, TelegramSettings
from okno.app import Okno, build, run_router
from okno.settings import Settings
from tests.fakes.telegram_api import FakeTelegramAPI
from ticketing import telegram_store
from ticketing.domain import Status, Ticket, TicketEvent
from ticketing.models import TicketRow
from ticketing.repository import TicketRepository
from ticketing.telegram_store import Card

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "telegram" / "updates"
TOKEN = "123456:TEST-TOKEN"
SECRET = "webhook-secret-1234"
AGENTS = -1001000000001
IVAN: dict[str, Any] = {
    "id": 100000001,
    "is_bot": False,
    "first_name": "Ivan",
    "last_name": "Petrov",
    "username": "ivan_petrov",
    "language_code": "ru",
}
MARIA: dict[str, Any] = {
    "id": 100000003,
    "is_bot": False,
    "first_name": "Мария",
    "language_code": "ru",
}
JOHN: dict[str, Any] = {
    "id": 100000004,
    "is_bot": False,
    "first_name": "John",
    "language_code": "en",
}
ANNA: dict[str, Any] = {
    "id": 100000002,
    "is_bot": False,
    "first_name": "Anna",
    "username": "anna_support",
}
FAST = TelegramLimits(per_chat_per_second=30, per_group_per_minute=60, overall_per_second=200)


def fixture(name: str) -> dict[str, Any]:
    return dict(json.loads((FIXTURES / name).read_text(encoding="utf-8")))


def telegram_settings(
    settings: Settings,
    base_url: str,
    *,
    mode: TelegramMode = TelegramMode.POLLING,
    limits: TelegramLimits = FAST,
    **extra: Any,
) -> Settings:
    """The suite's settings with the Telegram channel on, against the fake server."""
    telegram = TelegramSettings(
        enabled=True,
        token=SecretStr(TOKEN),
        api_base_url=base_url,
        mode=mode,
        webhook_secret=SecretStr(SECRET),
        agents_chat_id=AGENTS,
        polling_timeout_seconds=1,
        album_wait_seconds=0.3,
        desk_poll_seconds=0.05,
        limits=limits,
        **extra,
    )
    notify = settings.notify.model_copy(update={"poll_interval_seconds": 0.05})
    # The corpus's photos and documents are announced as up to 0.5 MB.
    storage = settings.storage.model_copy(update={"max_attachment_bytes": 1024 * 1024})
    return settings.model_copy(update={"telegram": telegram, "notify": notify, "storage": storage})


_ids = itertools.count(int(time.time() * 1000) % 10**9)


def private_message(user: dict[str, Any], text: str, **extra: Any) -> dict[str, Any]:
    chat = {k: v for k, v in user.items() if k in {"id", "first_name", "last_name", "username"}}
    message = {
        "message_id": next(_ids),
        "from": user,
        "chat": {**chat, "type": "private"},
        "date": int(time.time()),
        "text": text,
        **extra,
    }
    if text.startswith("/"):
        command = text.split(" ", 1)[0]
        message["entities"] = [{"offset": 0, "length": len(command), "type": "bot_command"}]
    return {"message": message}


def group_message(
    user: dict[str, Any], text: str | None, *, thread: int | None = None, **extra: Any
) -> dict[str, Any]:
    """A message in the agents' group (in a topic when ``thread`` is given)."""
    chat = {"id": AGENTS, "title": "Agents", "is_forum": True, "type": "supergroup"}
    message: dict[str, Any] = {
        "message_id": next(_ids),
        "from": user,
        "chat": chat,
        "date": int(time.time()),
        **extra,
    }
    if text is not None:
        message["text"] = text
    if thread is not None:
        message |= {"message_thread_id": thread, "is_topic_message": True}
    if text and text.startswith("/"):
        command = text.split(" ", 1)[0]
        message["entities"] = [{"offset": 0, "length": len(command), "type": "bot_command"}]
    return {"message": message}


def callback(user: dict[str, Any], data: str, chat_id: int, message_id: int) -> dict[str, Any]:
    chat = {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup", "title": "x"}
    message = {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": chat,
        "from": {"id": 7000000001, "is_bot": True, "first_name": "Helpdesk"},
        "text": "…",
    }
    return {
        "callback_query": {
            "id": str(next(_ids)),
            "from": user,
            "chat_instance": "1",
            "data": data,
            "message": message,
        }
    }


def buttons_of(markup: Any) -> dict[str, str]:
    """``{label: callback data}`` of an inline keyboard as the fake recorded it."""
    if isinstance(markup, str):
        markup = json.loads(markup)
    if not isinstance(markup, dict):
        return {}
    return {
        b["text"]: b.get("callback_data") or b.get("url", "")
        for row in markup.get("inline_keyboard", [])
        for b in row
    }


async def eventually(
    check: Callable[[], Awaitable[Any]] | Callable[[], Any], *, within: float = 10.0
) -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within} s")
        await asyncio.sleep(0.05)


@dataclass
class TelegramHarness:
    """okno with Telegram on, its workers running, and the fake API beside it."""

    okno: Okno
    fake: FakeTelegramAPI
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def tickets(self) -> list[Ticket]:
        async with self.okno.db.read() as session:
            ids = list(await session.scalars(select(TicketRow.id).order_by(TicketRow.id)))
            repo = TicketRepository(session)
            return [t for i in ids if (t := await repo.get(i)) is not None]

    async def ticket(self, number: int) -> Ticket:
        async with self.okno.db.read() as session:
            found = await TicketRepository(session).get(number)
        assert found is not None
        return found

    async def send(self, update: dict[str, Any]) -> int:
        return await self.fake.push_update(update)

    def okno_signer(self) -> CallbackSigner:
        """A signer with the installation secret (to forge data as a user could not)."""
        return CallbackSigner(self.okno.secret)

    async def history(self, number: int) -> tuple[TicketEvent, ...]:
        async with self.okno.db.read() as session:
            detail = await TicketRepository(session).detail(number, public_only=False)
        assert detail is not None
        return detail.events

    async def wait_for(self, number: int) -> None:
        """An agent puts the ticket in ``waiting`` (asks the requester something)."""
        async with self.okno.db.transaction() as session:
            await self.okno.tickets.change_status(
                session,
                number,
                Status.WAITING,
                actor="anna",
                now=self.okno.now(),
                comment="Какая модель сканера?",
            )

    async def card_of(self, number: int) -> Card | None:
        """The stored card of ticket ``number`` once the desk has recorded it."""
        async with self.okno.db.read() as session:
            card = await telegram_store.card(session, number)
        return card if card is not None and card.card_message_id is not None else None

    def topic_of(self, number: int) -> int | None:
        """The forum topic of ticket ``number`` (None until it exists)."""
        for thread, topic in self.fake.topics(AGENTS).items():
            if topic.name.startswith(f"#{number} "):
                return thread
        return None


@contextlib.asynccontextmanager
async def running(
    settings: Settings, fake: FakeTelegramAPI, *, workers: bool = True
) -> AsyncIterator[TelegramHarness]:
    """okno built from ``settings``; with ``workers``, router, notify and telegram run too."""
    async with build(settings, metrics_registry=CollectorRegistry()) as okno:
        harness = TelegramHarness(okno=okno, fake=fake)
        tasks = []
        if workers:
            tasks = [
                asyncio.create_task(run_router(okno, harness.stop)),
                asyncio.create_task(okno.dispatcher.run(harness.stop)),
                asyncio.create_task(okno.runners["telegram"](harness.stop)),
            ]
        else:
            tasks = [asyncio.create_task(run_router(okno, harness.stop))]
        try:
            yield harness
        finally:
            harness.stop.set()
            await asyncio.wait_for(asyncio.gather(*tasks), timeout=15)
