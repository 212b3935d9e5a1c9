"""Updates in: the webhook route (aiogram's aiohttp integration) and the long-polling loop.

Either way an update counts as received only once its handlers have finished — and the first
thing a handler does with a message is store it (``Intake.accept``). The webhook answers 200
only then (``handle_in_background=False``); the polling loop asks for the next updates, which
confirms the previous ones to Telegram, only then. A redelivered update is deduplicated by the
durable inbox (messages) or by the record of handled updates (everything else).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from aiogram import Bot, Dispatcher
from aiogram.exceptions import AiogramError
from aiogram.types import Update
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

__all__ = ["ALLOWED_UPDATES", "TelegramPolling", "webhook_route"]

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
_FEED_ATTEMPTS = 5


def webhook_route(dispatcher: Dispatcher, bot: Bot, *, path: str, secret: str) -> web.RouteDef:
    """``POST path``: checks ``X-Telegram-Bot-Api-Secret-Token`` in constant time (401 when
    wrong), then handles the update before answering, so a 200 means it is stored."""
    handler = SimpleRequestHandler(
        dispatcher, bot, handle_in_background=False, secret_token=secret
    )
    return web.post(path, handler.handle)


Feed = Callable[[Update], Awaitable[object]]


class TelegramPolling:
    """Long-polls ``getUpdates`` and feeds each update in order.

    Args:
        bot: the bot to poll with.
        feed: handles one update; raising means "not stored", so it is tried again.
        timeout: the long-polling wait per call, in seconds.
        backoff_max: longest pause after a failed ``getUpdates``.
    """

    def __init__(self, bot: Bot, feed: Feed, *, timeout: int, backoff_max: float = 30.0) -> None:
        self._bot = bot
        self._feed = feed
        self._timeout = timeout
        self._backoff_max = backoff_max

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until ``stop`` is set; confirm what was handled before returning."""
        with contextlib.suppress(AiogramError, OSError, TimeoutError):
            await self._bot.delete_webhook(drop_pending_updates=False)
        offset: int | None = None
        failures = 0
        while not stop.is_set():
            try:
                updates = await _unless_stopped(
                    self._bot.get_updates(
                        offset=offset,
                        timeout=self._timeout,
                        allowed_updates=ALLOWED_UPDATES,
                        request_timeout=self._timeout + 15,
                    ),
                    stop,
                )
            except (AiogramError, OSError, TimeoutError) as exc:
                failures += 1
                delay = min(2.0**failures, self._backoff_max)
                log.warning("getUpdates failed", extra={"error": repr(exc), "retry_in": delay})
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                continue
            failures = 0
            for update in updates or ():
                if not await self._handle(update, stop):
                    break  # stopping: the update stays unconfirmed and comes again
                offset = update.update_id + 1
        if offset is not None:
            # Confirm the last batch now, or Telegram hands it out again after a restart.
            with contextlib.suppress(AiogramError, OSError, TimeoutError):
                await self._bot.get_updates(offset=offset, limit=1, timeout=0)

    async def _handle(self, update: Update, stop: asyncio.Event) -> bool:
        """Feed one update, retrying with backoff; False when stopped before it was handled."""
        for attempt in range(1, _FEED_ATTEMPTS + 1):
            try:
                await self._feed(update)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception(
                    "update handling failed",
                    extra={"update_id": update.update_id, "attempt": attempt},
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), min(2.0**attempt, self._backoff_max))
                if stop.is_set():
                    return False
            else:
                return True
        log.error(
            "update dropped after repeated failures",
            extra={"update_id": update.update_id, "update": update.model_dump_json()},
        )
        return True


async def _unless_stopped(call: Awaitable[list[Update]], stop: asyncio.Event) -> list[Update]:
    """Await ``call``; when ``stop`` is set first, cancel it and return nothing."""
    task = asyncio.ensure_future(call)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        task.cancel()
        raise
    finally:
        stopper.cancel()
    if task.done():
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return []
