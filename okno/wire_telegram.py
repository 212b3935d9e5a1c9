"""Builds the telegram channel from its settings and attaches it to a running okno.

`okno/app.py` calls :func:`attach` once per process: it registers the outbound channel, adds the
webhook route (webhook mode) and the agents' desk notice sink, and names the background work of
the ``telegram`` role (the desk, albums, and long polling in polling mode).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from aiogram import Bot
from aiogram.exceptions import AiogramError, TelegramUnauthorizedError
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.fsm.storage.redis import RedisStorage
from aiogram.types import ChatMemberAdministrator, ChatMemberOwner

from bot.callbacks import CallbackSigner
from bot.context import BotDeps
from bot.desk_sink import DeskSink
from bot.runtime import TelegramRuntime, Wakers
from channels.telegram.sender import TelegramSender
from channels.telegram.session import build_bot, limiter_for
from channels.telegram.settings import TelegramMode
from ticketing.files import FileStore

if TYPE_CHECKING:
    from okno.app import Okno
    from okno.settings import Settings

ROLE = "telegram"


def runtime_for(okno: Okno) -> TelegramRuntime:
    """The Telegram channel built from okno's settings and parts."""
    settings = okno.settings
    telegram = settings.telegram
    wake = Wakers()
    deps = BotDeps(
        settings=telegram,
        db=okno.db,
        tickets=okno.tickets,
        accept=okno.intake.accept,
        files=FileStore(
            settings.storage.attachments_dir, max_bytes=settings.storage.max_attachment_bytes
        ),
        # With Redis, every process of this bot shares Telegram's limits.
        sender=TelegramSender(build_bot(telegram, limiter_for(telegram, okno.redis))),
        signer=CallbackSigner(okno.secret),
        now=okno.now,
        default_locale=settings.ticketing.default_locale,
        default_timezone=settings.ticketing.default_timezone,
        services={service.id: dict(service.name) for service in settings.services},
        members=frozenset(member for team in settings.teams for member in team.members),
        max_attachments=settings.storage.max_attachments,
        callback_attempts=settings.phone.callback_attempts,
        wake=wake,
        calls_prompted=settings.phone.enabled,
    )
    # Dialog state (a rating comment being written) survives a restart with Redis.
    storage: BaseStorage = RedisStorage(okno.redis) if okno.redis is not None else MemoryStorage()
    runtime = TelegramRuntime(deps, storage=storage)
    wake.add(okno.dispatcher.wake)
    wake.add(runtime.desk.wake)
    return runtime


@contextlib.asynccontextmanager
async def attach(okno: Okno) -> AsyncIterator[None]:
    """Wire the channel into ``okno`` (nothing when disabled); release it on exit."""
    if not okno.settings.telegram.enabled:
        yield
        return
    runtime = runtime_for(okno)
    okno.registry.register(runtime.outbound)
    if okno.settings.telegram.agents_chat_id is not None:
        okno.notice_sinks.append(DeskSink())
    if okno.settings.telegram.mode is TelegramMode.WEBHOOK:
        okno.http_routes.append(runtime.webhook_route())
    okno.runners[ROLE] = runtime.run
    try:
        yield
    finally:
        await runtime.close()


async def check(settings: Settings) -> list[tuple[str, bool, str]]:
    """``okno check`` for Telegram: the token works, the agents' group is reachable and the
    bot may manage its topics, the webhook is registered where configured."""
    telegram = settings.telegram
    if not telegram.enabled:
        return [("telegram", True, "disabled")]
    bot = build_bot(telegram, limiter_for(telegram))
    results: list[tuple[str, bool, str]] = []
    try:
        me = await bot.get_me()
    except TelegramUnauthorizedError:
        detail = f"{telegram.api_base_url} rejects the token: check OKNO_TELEGRAM__TOKEN"
        results.append(("telegram", False, detail))
    except _FAILURES as exc:
        results.append(("telegram", False, str(exc) or repr(exc)))
    else:
        results.append(("telegram", True, f"@{me.username} via {telegram.api_base_url}"))
        if telegram.agents_chat_id is not None:
            results.append(await _check_group(bot, telegram.agents_chat_id, me.id))
        if telegram.mode is TelegramMode.WEBHOOK and telegram.webhook_url:
            results.append(await _check_webhook(bot, telegram.webhook_url))
    finally:
        await bot.session.close()
    return results


_FAILURES = (AiogramError, OSError, TimeoutError)


async def _check_webhook(bot: Bot, url: str) -> tuple[str, bool, str]:
    try:
        info = await bot.get_webhook_info()
    except _FAILURES as exc:
        return ("telegram webhook", False, str(exc) or repr(exc))
    return ("telegram webhook", info.url == url, info.url or "not registered yet")


async def _check_group(bot: Bot, chat_id: int, bot_id: int) -> tuple[str, bool, str]:
    try:
        chat = await bot.get_chat(chat_id)
        member = await bot.get_chat_member(chat_id, bot_id)
    except _FAILURES as exc:
        detail = f"{chat_id}: {exc} (is the bot a member of the group?)"
        return ("telegram agents' group", False, detail)
    forum = bool(chat.is_forum)
    can_topics = isinstance(member, ChatMemberOwner) or (
        isinstance(member, ChatMemberAdministrator) and bool(member.can_manage_topics)
    )
    if forum and not can_topics:
        return (
            "telegram agents' group",
            False,
            f"{chat.title}: make the bot an admin who can manage topics",
        )
    kind = "forum: one topic per ticket" if forum else "no forum: cards without topics"
    return ("telegram agents' group", True, f"{chat.title} ({kind})")
