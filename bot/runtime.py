"""The Telegram channel assembled: dispatcher and routers, the outbound channel, the desk, albums,
and the two ways updates come in (webhook route, polling loop).

``okno/wire_telegram.py`` builds one :class:`TelegramRuntime` per process and hangs its parts
on okno: the outbound channel in the registry, the webhook route in the HTTP app, :meth:`run`
as the ``telegram`` role (desk, albums, and polling in polling mode).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from aiogram import Dispatcher
from aiogram.exceptions import AiogramError
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    Update,
)
from aiohttp import web

from bot.agents import agents_router
from bot.albums import flush_due_albums
from bot.context import BotDeps
from bot.desk import Desk
from bot.desk_post import DeskPoster
from bot.hooks import RequesterHooks
from bot.membership import Membership
from bot.rating import rating_router
from bot.requester import requester_router
from bot.status import status_router
from channels.telegram.adapter import TelegramOutbound
from channels.telegram.inbound import ALLOWED_UPDATES, TelegramPolling, webhook_route
from channels.telegram.settings import TelegramMode

log = logging.getLogger(__name__)

REQUESTER_COMMANDS = {
    "ru": [("status", "мои заявки"), ("help", "как пользоваться"), ("cancel", "отменить")],
    "en": [("status", "my tickets"), ("help", "how it works"), ("cancel", "cancel")],
}
AGENT_COMMANDS = [
    ("take", "взять заявку"),
    ("assign", "@агент — назначить"),
    ("prio", "critical|high|medium|low"),
    ("wait", "ждём ответа заявителя"),
    ("resolve", "[текст] — решено"),
    ("close", "закрыть"),
    ("reopen", "возобновить"),
    ("merge", "N — дубликат заявки N"),
    ("link", "N — связать с основной заявкой N"),
    ("type", "incident|service_request|question"),
    ("service", "услуга из каталога"),
    ("note", "текст — заметка для агентов"),
]


class Wakers:
    """Callables to run when new work may be waiting (``BotDeps.wake``)."""

    def __init__(self) -> None:
        self._wakers: list[Callable[[], None]] = []

    def add(self, waker: Callable[[], None]) -> None:
        """Run ``waker`` too."""
        self._wakers.append(waker)

    def __call__(self) -> None:
        for waker in self._wakers:
            waker()


def build_dispatcher(deps: BotDeps, storage: BaseStorage, members: Membership) -> Dispatcher:
    """Routers in order: the agents' group first, then the requester's conversations."""
    dispatcher = Dispatcher(storage=storage)
    dispatcher["deps"] = deps
    dispatcher["members"] = members
    if deps.agents_chat is not None:
        dispatcher.include_router(agents_router(deps.agents_chat))
    dispatcher.include_routers(rating_router(), status_router(), requester_router())
    return dispatcher


class TelegramRuntime:
    """Every long-lived part of the Telegram channel in one process."""

    def __init__(self, deps: BotDeps, *, storage: BaseStorage) -> None:
        self.deps = deps
        self.storage = storage
        self.members = Membership(deps)
        self.desk = Desk(deps, DeskPoster(deps))
        self.outbound = TelegramOutbound(deps.sender, RequesterHooks(deps))
        self.dispatcher = build_dispatcher(deps, storage, self.members)

    def webhook_route(self) -> web.RouteDef:
        """``POST telegram.webhook_path`` for okno's HTTP app."""
        secret = self.deps.settings.webhook_secret
        assert secret is not None  # noqa: S101 - the settings require it in webhook mode
        return webhook_route(
            self.dispatcher,
            self.deps.sender.bot,
            path=self.deps.settings.webhook_path,
            secret=secret.get_secret_value(),
        )

    async def feed(self, update: Update) -> None:
        """Handle one update; raising means it was not stored and must come again."""
        await self.dispatcher.feed_update(self.deps.sender.bot, update)

    async def run(self, stop: asyncio.Event) -> None:
        """The ``telegram`` role: the desk, album flushing, and polling or the webhook."""
        settings = self.deps.settings
        await self._set_commands()
        async with asyncio.TaskGroup() as group:
            group.create_task(self.desk.run(stop), name="telegram-desk")
            group.create_task(self._flush_albums(stop), name="telegram-albums")
            if settings.mode is TelegramMode.POLLING:
                polling = TelegramPolling(
                    self.deps.sender.bot, self.feed, timeout=settings.polling_timeout_seconds
                )
                group.create_task(polling.run(stop), name="telegram-polling")
            elif settings.webhook_url:
                await self._set_webhook()

    async def _set_commands(self) -> None:
        """The command menus: the requester's in private chats, the agents' in their group."""
        bot = self.deps.sender.bot
        try:
            for language, commands in REQUESTER_COMMANDS.items():
                await bot.set_my_commands(
                    [BotCommand(command=c, description=d) for c, d in commands],
                    scope=BotCommandScopeAllPrivateChats(),
                    language_code=language,
                )
            if self.deps.agents_chat is not None:
                await bot.set_my_commands(
                    [BotCommand(command=c, description=d) for c, d in AGENT_COMMANDS],
                    scope=BotCommandScopeChat(chat_id=self.deps.agents_chat),
                )
        except (AiogramError, OSError, TimeoutError):
            log.warning("could not set the command menus", exc_info=True)

    async def _set_webhook(self) -> None:
        settings = self.deps.settings
        secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
        try:
            await self.deps.sender.bot.set_webhook(
                f"{settings.webhook_url}",
                secret_token=secret,
                allowed_updates=ALLOWED_UPDATES,
            )
        except AiogramError:
            log.exception("could not register the webhook; updates may not arrive")

    async def _flush_albums(self, stop: asyncio.Event) -> None:
        interval = min(max(self.deps.settings.album_wait_seconds / 2, 0.1), 1.0)
        while not stop.is_set():
            try:
                await flush_due_albums(self.deps)
            except Exception:
                log.exception("album round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)

    async def close(self) -> None:
        """Close the bot's HTTP session (and a memory storage)."""
        await self.deps.sender.bot.session.close()
        if isinstance(self.storage, MemoryStorage):
            await self.storage.close()  # RedisStorage would close okno's shared client
