"""The aiogram ``Bot`` okno talks through: a configurable Bot API server and Telegram's limits.

Every request of the bot — an outbox notification, a card in the agents' group, a bot reply
inside a conversation — passes :class:`LimitedRequests`, so no path around the limits exists.
A 429 pauses the chat for ``retry_after`` and the request is tried again while that fits in
the caller's patience; beyond it the error goes up and the outbox retries later.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import (
    CopyMessage,
    CreateForumTopic,
    EditMessageCaption,
    EditMessageReplyMarkup,
    EditMessageText,
    ForwardMessage,
    Response,
    SendAudio,
    SendContact,
    SendDocument,
    SendLocation,
    SendMediaGroup,
    SendMessage,
    SendPhoto,
    SendVideo,
    SendVoice,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType
from redis.asyncio import Redis

from channels.telegram.limiter import Limiter, TelegramLimiter
from channels.telegram.redis_limiter import RedisTelegramLimiter
from channels.telegram.settings import TelegramSettings

__all__ = ["LimitedRequests", "build_bot", "limiter_for"]

log = logging.getLogger(__name__)

#: Calls that put a message into a chat: they count against the chat's own limits.
MESSAGES: tuple[type[TelegramMethod[Any]], ...] = (
    SendMessage,
    SendPhoto,
    SendDocument,
    SendVoice,
    SendAudio,
    SendVideo,
    SendMediaGroup,
    SendLocation,
    SendContact,
    CopyMessage,
    ForwardMessage,
    CreateForumTopic,
)
#: Calls that change a message: they count only against the overall limit.
EDITS: tuple[type[TelegramMethod[Any]], ...] = (
    EditMessageText,
    EditMessageReplyMarkup,
    EditMessageCaption,
)
_MAX_RETRIES = 3


class LimitedRequests(BaseRequestMiddleware):
    """Schedules message calls under the limiter and honours 429 ``retry_after``."""

    def __init__(self, limiter: Limiter, *, max_wait: float) -> None:
        self._limiter = limiter
        self._max_wait = max_wait

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        counted = isinstance(method, MESSAGES + EDITS)
        chat = getattr(method, "chat_id", None)
        for attempt in range(_MAX_RETRIES + 1):
            try:
                if not counted:
                    return await make_request(bot, method)
                in_chat = isinstance(method, MESSAGES)
                async with self._limiter.slot(chat, in_chat=in_chat, max_wait=self._max_wait):
                    return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if chat is not None:
                    await self._limiter.pause(chat, exc.retry_after)
                log.warning(
                    "Telegram asked to slow down",
                    extra={"chat": chat, "retry_after": exc.retry_after, "attempt": attempt},
                )
                if attempt == _MAX_RETRIES or exc.retry_after > self._max_wait:
                    raise
                if not counted or chat is None:
                    await asyncio.sleep(exc.retry_after)  # nothing else would make it wait
        raise AssertionError  # pragma: no cover - the loop returns or raises


def limiter_for(settings: TelegramSettings, redis: Redis | None = None) -> Limiter:
    """The flood-limit scheduler configured by ``telegram.limits``: shared by every process
    through ``redis`` when given, else this process's own."""
    limits = settings.limits
    if redis is not None and settings.token is not None:
        return RedisTelegramLimiter(
            redis,
            bot=settings.token.get_secret_value().split(":", 1)[0],
            per_chat_per_second=limits.per_chat_per_second,
            per_group_per_minute=limits.per_group_per_minute,
            overall_per_second=limits.overall_per_second,
            margin=limits.margin,
            hold=settings.request_timeout_seconds,
        )
    return TelegramLimiter(
        per_chat_per_second=limits.per_chat_per_second,
        per_group_per_minute=limits.per_group_per_minute,
        overall_per_second=limits.overall_per_second,
        margin=limits.margin,
    )


def build_bot(settings: TelegramSettings, limiter: Limiter) -> Bot:
    """A bot on the configured Bot API server, HTML by default, every call limited.

    Raises:
        ValueError: no token is configured.
    """
    if settings.token is None:
        msg = "telegram.token is not set"
        raise ValueError(msg)
    session = AiohttpSession(
        api=TelegramAPIServer.from_base(settings.api_base_url),
        timeout=settings.request_timeout_seconds,
    )
    session.middleware(LimitedRequests(limiter, max_wait=settings.limits.max_wait_seconds))
    return Bot(
        token=settings.token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )
