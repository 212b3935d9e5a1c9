"""Bot API calls okno makes, with Telegram's errors translated into okno's two kinds.

``TransientSendError`` (429, network, 5xx, a limiter wait too long) means "try again later";
``PermanentSendError`` means it will never work as is. Two permanent cases have their own class
because callers act on them: :class:`BotBlockedError` (the user blocked the bot) and
:class:`ThreadNotFoundError` (someone deleted the forum topic).
"""

from __future__ import annotations

import asyncio
import contextlib
import html as html_lib
import logging
import re
from collections.abc import AsyncIterator

from aiogram import Bot
from aiogram.exceptions import (
    AiogramError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNotFound,
    TelegramRetryAfter,
)
from aiogram.types import BufferedInputFile, InlineKeyboardMarkup, ReplyParameters

from channels.base import PermanentSendError, RateLimitedError, TransientSendError
from channels.telegram.limiter import LimiterUnavailableError, LimitWaitTooLongError
from channels.telegram.render import MAX_CAPTION, split_html

__all__ = ["BotBlockedError", "TelegramSender", "ThreadNotFoundError", "translated_errors"]

log = logging.getLogger(__name__)
_TAGS = re.compile(r"<[^>]+>")


class BotBlockedError(PermanentSendError):
    """The user blocked the bot (or deleted their account); nothing reaches them any more."""


class ThreadNotFoundError(PermanentSendError):
    """The forum topic is gone; the caller recreates it."""


@contextlib.asynccontextmanager
async def translated_errors() -> AsyncIterator[None]:
    """Re-raise aiogram's errors as :class:`TransientSendError` / :class:`PermanentSendError`."""
    try:
        yield
    except TelegramRetryAfter as exc:
        raise RateLimitedError(str(exc), retry_after=float(exc.retry_after)) from exc
    except LimitWaitTooLongError as exc:
        raise RateLimitedError(str(exc), retry_after=exc.delay) from exc
    except LimiterUnavailableError as exc:
        raise TransientSendError(f"rate limiter unavailable: {exc}") from exc
    except TelegramForbiddenError as exc:
        raise BotBlockedError(exc.message) from exc
    except (TelegramMigrateToChat, TelegramNotFound) as exc:
        raise PermanentSendError(str(exc)) from exc
    except TelegramBadRequest as exc:
        if "thread not found" in exc.message.lower() or "topic_id_invalid" in exc.message.lower():
            raise ThreadNotFoundError(exc.message) from exc
        raise PermanentSendError(exc.message) from exc
    except (AiogramError, TimeoutError, OSError) as exc:
        # Network trouble, 5xx, undecodable answers, a wrong token being fixed: retry later.
        raise TransientSendError(repr(exc)) from exc


def _plain(html: str) -> str:
    """What the reader would see, for resending when Telegram cannot parse our HTML."""
    return html_lib.unescape(_TAGS.sub("", html))


class TelegramSender:
    """Sends and edits messages and manages forum topics through one bot."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send_text(
        self,
        chat_id: int,
        html: str,
        *,
        thread_id: int | None = None,
        markup: InlineKeyboardMarkup | None = None,
        reply_to: int | None = None,
    ) -> list[int]:
        """Send ``html`` in parts of ≤ 4096 characters; the keyboard goes with the last part."""
        parts = split_html(html) or ["…"]
        ids: list[int] = []
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            ids.append(
                await self._send_part(
                    chat_id,
                    part,
                    thread_id=thread_id,
                    markup=markup if last else None,
                    reply_to=reply_to if index == 0 else None,
                )
            )
        return ids

    async def _send_part(
        self,
        chat_id: int,
        html: str,
        *,
        thread_id: int | None,
        markup: InlineKeyboardMarkup | None,
        reply_to: int | None,
    ) -> int:
        reply = (
            ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
            if reply_to is not None
            else None
        )
        async with translated_errors():
            try:
                sent = await self.bot.send_message(
                    chat_id,
                    html,
                    message_thread_id=thread_id,
                    reply_markup=markup,
                    reply_parameters=reply,
                )
            except TelegramBadRequest as exc:
                if "can't parse entities" not in exc.message.lower():
                    raise
                # Never lose a message to markup: say it without formatting.
                log.error("Telegram could not parse our HTML", extra={"error": exc.message})
                sent = await self.bot.send_message(
                    chat_id,
                    _plain(html),
                    parse_mode=None,
                    message_thread_id=thread_id,
                    reply_markup=markup,
                    reply_parameters=reply,
                )
        return sent.message_id

    async def send_file(
        self,
        chat_id: int,
        *,
        filename: str,
        content_type: str,
        content: bytes,
        caption: str | None = None,
        thread_id: int | None = None,
    ) -> int:
        """Send a photo (images up to 10 MB) or a document; the caption is HTML."""
        upload = BufferedInputFile(content, filename=filename)
        if caption is not None and len(caption) > MAX_CAPTION:
            caption = split_html(caption, MAX_CAPTION - 1)[0] + "…"
        async with translated_errors():
            if content_type in {"image/jpeg", "image/png"} and len(content) <= 10 * 1024 * 1024:
                sent = await self.bot.send_photo(
                    chat_id, upload, caption=caption, message_thread_id=thread_id
                )
            else:
                sent = await self.bot.send_document(
                    chat_id, upload, caption=caption, message_thread_id=thread_id
                )
        return sent.message_id

    async def edit(
        self, chat_id: int, message_id: int, html: str, markup: InlineKeyboardMarkup | None
    ) -> bool:
        """Replace a message's text; False when the message is gone (deleted, too old)."""
        async with translated_errors():
            try:
                await self.bot.edit_message_text(
                    text=split_html(html)[0],
                    chat_id=chat_id,
                    message_id=message_id,
                    reply_markup=markup,
                )
            except TelegramBadRequest as exc:
                text = exc.message.lower()
                if "not modified" in text:
                    return True
                if "not found" in text or "can't be edited" in text:
                    return False
                raise
        return True

    async def create_topic(self, chat_id: int, name: str) -> int:
        """A new forum topic; returns its thread id."""
        async with translated_errors():
            topic = await self.bot.create_forum_topic(chat_id, name[:128])
        return topic.message_thread_id

    async def set_topic_open(self, chat_id: int, thread_id: int, *, is_open: bool) -> None:
        """Close or reopen a topic; already so is fine."""
        async with translated_errors():
            try:
                if is_open:
                    await self.bot.reopen_forum_topic(chat_id, thread_id)
                else:
                    await self.bot.close_forum_topic(chat_id, thread_id)
            except TelegramBadRequest as exc:
                if "not_modified" not in exc.message.lower().replace(" ", "_"):
                    raise

    async def download(self, file_id: str, *, max_bytes: int) -> bytes | None:
        """A file's bytes, or None when it is larger than ``max_bytes``."""
        async with translated_errors():
            info = await self.bot.get_file(file_id)
            if info.file_size is not None and info.file_size > max_bytes:
                return None
            if info.file_path is None:
                raise PermanentSendError(f"Telegram gave no path for file {file_id}")
            buffer = await asyncio.wait_for(self.bot.download_file(info.file_path), 120)
        data = buffer.read() if buffer is not None else b""
        return None if len(data) > max_bytes else data
