"""Telegram's flood limits shared by every okno process of one bot, through Redis.

The same rule as :class:`channels.telegram.limiter.TelegramLimiter` — at most N messages in
flight or answered within the last T seconds, per chat, per group and overall — kept in Redis
sorted sets so that the web process, the outbox dispatcher and the desk of several machines
together stay under the limits Telegram counts per bot. One Lua script checks every window of
a send and takes them all at once (or none), with Redis's own clock, so processes on machines
whose clocks differ still agree. A message in flight is recorded as ending ``hold`` seconds
from now (the request's time limit); its answer moves it to the answer's time. A process that
dies mid-send thus frees its slot after ``hold`` plus one window. A 429's ``retry_after`` pauses
the chat for every process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from channels.telegram.limiter import LimiterUnavailableError, LimitWaitTooLongError

__all__ = ["RedisTelegramLimiter"]

log = logging.getLogger(__name__)

# KEYS[1]: the chat's pause; KEYS[2..]: windows. ARGV: member, hold ms, then per window its
# limit, period ms and 1 when it is the chat's own. Returns {own wait ms, overall wait ms};
# {0, 0} means every window was taken.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local hold = tonumber(ARGV[2])
local own, overall = 0, 0
local paused = tonumber(redis.call('GET', KEYS[1]) or '0')
if paused > now then own = paused - now end
local windows = (#ARGV - 2) / 3
for i = 1, windows do
  local key, limit = KEYS[i + 1], tonumber(ARGV[3 * i])
  local period = tonumber(ARGV[3 * i + 1])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - period)
  if redis.call('ZCARD', key) >= limit then
    local first = tonumber(redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')[2])
    local wait = 5
    if first <= now then wait = math.max(first + period - now, 1) end
    if ARGV[3 * i + 2] == '1' then own = math.max(own, wait)
    else overall = math.max(overall, wait) end
  end
end
if own > 0 or overall > 0 then return {own, overall} end
for i = 1, windows do
  redis.call('ZADD', KEYS[i + 1], now + hold, ARGV[1])
  redis.call('PEXPIRE', KEYS[i + 1], hold + tonumber(ARGV[3 * i + 1]))
end
return {0, 0}
"""
# KEYS: the windows taken; ARGV: member. The slot now ends at the answer's time.
_RELEASE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 1, #KEYS do redis.call('ZADD', KEYS[i], 'XX', now, ARGV[1]) end
return 0
"""
# KEYS[1]: the chat's pause; ARGV[1]: seconds in ms. Keeps the later of two pauses.
_PAUSE = """
local t = redis.call('TIME')
local until_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_ms > current then redis.call('SET', KEYS[1], until_ms, 'PX', tonumber(ARGV[1]) + 1000) end
return 0
"""


class RedisTelegramLimiter:
    """:class:`~channels.telegram.limiter.TelegramLimiter`'s rule, shared through Redis.

    Args:
        redis: the installation's Redis.
        bot: the bot's id (the token's number): each bot has its own limits.
        per_chat_per_second: messages to one chat per second.
        per_group_per_minute: messages to one group (negative chat id) per minute.
        overall_per_second: messages per second over all chats.
        margin: every window is stretched by this fraction.
        hold: longest a message may be in flight (the request's time limit), in seconds.
        max_calls: Redis calls of this limiter at one time. Hundreds of senders may wait
            for slots at once; unbounded, they would take every connection of the pool that
            okno's other Redis users share (redis-py refuses calls beyond its pool size).
        sleep: how to wait; injected in tests.
    """

    def __init__(
        self,
        redis: Redis,
        *,
        bot: str,
        per_chat_per_second: float = 1.0,
        per_group_per_minute: int = 20,
        overall_per_second: int = 30,
        margin: float = 0.0,
        hold: float = 30.0,
        max_calls: int = 4,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        stretch = 1.0 + margin
        # One hash tag: every key of a bot lives in one Redis Cluster slot (scripts need it).
        self._prefix = f"{{okno:telegram:{bot}}}"
        self._chat = (1, round(1000 * stretch / per_chat_per_second))
        self._group = (per_group_per_minute, round(60_000 * stretch))
        self._overall = (overall_per_second, round(1000 * stretch))
        self._hold_ms = round(1000 * hold)
        self._take = redis.register_script(_TAKE)
        self._release = redis.register_script(_RELEASE)
        self._pause = redis.register_script(_PAUSE)
        self._calls = asyncio.Semaphore(max_calls)
        self._turn = asyncio.Lock()
        self._sleep = sleep

    def _windows(self, chat: str | None, in_chat: bool) -> list[tuple[str, int, int, bool]]:
        windows = [(f"{self._prefix}:overall", *self._overall, False)]
        if chat is not None and in_chat:
            windows.append((f"{self._prefix}:chat:{chat}", *self._chat, True))
            if chat.startswith("-"):
                windows.append((f"{self._prefix}:group:{chat}", *self._group, True))
        return windows

    @contextlib.asynccontextmanager
    async def slot(
        self, chat: int | str | None, *, in_chat: bool = True, max_wait: float | None = None
    ) -> AsyncIterator[None]:
        """See :meth:`channels.telegram.limiter.TelegramLimiter.slot`.

        Raises:
            LimitWaitTooLongError: the chat's next slot is further away than ``max_wait``.
            LimiterUnavailableError: Redis could not be asked.
        """
        key = None if chat is None else str(chat)
        windows = self._windows(key, in_chat)
        member = uuid.uuid4().hex
        await self._acquire(key, windows, member, max_wait)
        try:
            yield
        finally:
            try:
                async with self._calls:
                    await self._release(keys=[w[0] for w in windows], args=[member])
            except (RedisError, OSError):
                # The slot then ends ``hold`` after it began: later, never too early.
                log.warning("could not release a Telegram rate-limit slot", exc_info=True)

    async def _acquire(
        self,
        chat: str | None,
        windows: list[tuple[str, int, int, bool]],
        member: str,
        max_wait: float | None,
    ) -> None:
        keys = [f"{self._prefix}:pause:{chat}"] + [w[0] for w in windows]
        args: list[str | int] = [member, self._hold_ms]
        for _, limit, period, is_own in windows:
            args += [limit, period, int(is_own)]
        while True:
            # One waiter of this process at a time asks Redis; while everyone must wait (the
            # overall window is full) it keeps its turn, so a crowd of senders costs one
            # Redis call per slot, not one per sender. A waiter whose own chat is paced steps
            # aside for the others.
            async with self._turn:
                while True:
                    own, overall = await self._ask(keys, args)
                    if max_wait is not None and own > max_wait:
                        raise LimitWaitTooLongError(own)
                    if own <= 0 and overall <= 0:
                        return
                    if own > 0:
                        break
                    await self._sleep(overall)
            await self._sleep(max(own, overall))

    async def _ask(self, keys: list[str], args: list[str | int]) -> tuple[float, float]:
        """Take every window now, or learn the waits (own, overall) in seconds."""
        try:
            async with self._calls:
                own_ms, overall_ms = await self._take(keys=keys, args=args)
        except (RedisError, OSError) as exc:
            raise LimiterUnavailableError(repr(exc)) from exc
        return int(own_ms) / 1000, int(overall_ms) / 1000

    async def pause(self, chat: int | str, seconds: float) -> None:
        """Hold every process's sends to ``chat`` for ``seconds`` (a 429's retry_after)."""
        try:
            async with self._calls:
                await self._pause(
                    keys=[f"{self._prefix}:pause:{chat}"], args=[round(1000 * max(seconds, 0.0))]
                )
        except (RedisError, OSError):
            log.warning("could not share a Telegram flood wait", exc_info=True)
