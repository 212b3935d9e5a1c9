"""Telegram's flood limits as a scheduler: ≈1 message/s per chat, 20/min per group, 30/s overall.

Each limit is a sliding window ("at most N in any T seconds"), which — unlike a token bucket
with a burst allowance — cannot be exceeded in any window an observer picks. The observer that
matters is Telegram, which sees a message when it *arrives*, somewhere between our send and its
answer. So a message holds its slot while in flight and for T seconds after its answer: a new
send is allowed only while fewer than N messages are in flight or answered within the last T.
Whatever the network does in between, no T-second window at Telegram can then hold more than
N of our messages (and two messages to one chat are never less than T apart on arrival).

The check and the taking of a slot happen without an ``await`` in between, so concurrent
senders never overshoot. This scheduler counts one process's messages; with Redis configured,
:class:`channels.telegram.redis_limiter.RedisTelegramLimiter` applies the same rule to all of
them together (both are a :class:`Limiter`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Protocol

__all__ = [
    "LimitWaitTooLongError",
    "Limiter",
    "LimiterUnavailableError",
    "SlidingWindow",
    "TelegramLimiter",
]

#: How often a sender blocked only by messages still in flight looks again.
_IN_FLIGHT_POLL = 0.005


class SlidingWindow:
    """At most ``limit`` messages in flight or answered within the last ``period`` seconds."""

    __slots__ = ("_done", "in_flight", "limit", "period")

    def __init__(self, limit: int, period: float) -> None:
        self.limit = limit
        self.period = period
        self.in_flight = 0
        self._done: deque[float] = deque()

    def delay(self, now: float) -> float:
        """Seconds until one more message fits (0: now; a short poll when only in-flight
        messages fill the window, since their answers are what frees it)."""
        while self._done and self._done[0] <= now - self.period:
            self._done.popleft()
        if self.in_flight + len(self._done) < self.limit:
            return 0.0
        if not self._done:
            return _IN_FLIGHT_POLL
        return self._done[0] + self.period - now

    def take(self) -> None:
        """A message starts on its way."""
        self.in_flight += 1

    def release(self, now: float) -> None:
        """Its answer came (or it failed): the slot stays taken for one window."""
        self.in_flight -= 1
        self._done.append(now)

    def idle(self, now: float) -> bool:
        """Nothing in flight or within the window: the window may be forgotten."""
        return self.in_flight == 0 and (not self._done or self._done[-1] <= now - self.period)


class LimitWaitTooLongError(Exception):
    """The chat's own limit needs a longer wait than the caller allows."""

    def __init__(self, delay: float) -> None:
        super().__init__(f"rate limit: next slot in {delay:.1f} s")
        self.delay = delay


class LimiterUnavailableError(Exception):
    """The shared limiter's store (Redis) could not be asked; nothing was sent."""


class Limiter(Protocol):
    """Schedules one bot's sends under Telegram's flood limits."""

    def slot(
        self, chat: int | str | None, *, in_chat: bool = True, max_wait: float | None = None
    ) -> AbstractAsyncContextManager[None]:
        """Wait for a slot for a message to ``chat``; hold it while the body sends.

        Raises:
            LimitWaitTooLongError: the chat's next slot is further away than ``max_wait``.
            LimiterUnavailableError: a shared limiter could not reach its store.
        """
        ...

    async def pause(self, chat: int | str, seconds: float) -> None:
        """Hold every send to ``chat`` for ``seconds`` (Telegram answered 429 retry_after)."""
        ...


class TelegramLimiter:
    """Schedules sends under the per-chat, per-group and overall limits of one bot.

    Args:
        per_chat_per_second: messages to one chat per second.
        per_group_per_minute: messages to one group (negative chat id) per minute.
        overall_per_second: messages per second over all chats.
        margin: every window is stretched by this fraction.
        clock: monotonic seconds; injected in tests.
        sleep: how to wait; injected in tests.
    """

    def __init__(
        self,
        *,
        per_chat_per_second: float = 1.0,
        per_group_per_minute: int = 20,
        overall_per_second: int = 30,
        margin: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        stretch = 1.0 + margin
        self._chat_period = stretch / per_chat_per_second
        self._group = (per_group_per_minute, 60.0 * stretch)
        self._overall = SlidingWindow(overall_per_second, 1.0 * stretch)
        self._chats: dict[str, list[SlidingWindow]] = {}
        self._paused: dict[str, float] = {}
        self._clock = clock
        self._sleep = sleep

    def _windows(self, chat: str) -> list[SlidingWindow]:
        windows = self._chats.get(chat)
        if windows is None:
            if len(self._chats) > 10_000:
                self._forget_idle()
            windows = [SlidingWindow(1, self._chat_period)]
            if chat.startswith("-"):
                windows.append(SlidingWindow(*self._group))
            self._chats[chat] = windows
        return windows

    def _forget_idle(self) -> None:
        now = self._clock()
        for chat in [c for c, ws in self._chats.items() if all(w.idle(now) for w in ws)]:
            del self._chats[chat]
        for chat in [c for c, until in self._paused.items() if until <= now]:
            del self._paused[chat]

    @contextlib.asynccontextmanager
    async def slot(
        self, chat: int | str | None, *, in_chat: bool = True, max_wait: float | None = None
    ) -> AsyncIterator[None]:
        """Wait for a slot, hold it while the body sends, and keep it for the window after.

        Args:
            chat: the chat the message goes to (None: counts only overall).
            in_chat: count against the chat's own limits (edits count only overall).
            max_wait: raise instead of waiting longer than this for the chat's own limits.

        Raises:
            LimitWaitTooLongError: the chat's next slot is further away than ``max_wait``.
        """
        windows = await self._acquire(None if chat is None else str(chat), in_chat, max_wait)
        try:
            yield
        finally:
            now = self._clock()
            for window in windows:
                window.release(now)

    async def _acquire(
        self, key: str | None, in_chat: bool, max_wait: float | None
    ) -> list[SlidingWindow]:
        while True:
            now = self._clock()
            own = 0.0
            windows: list[SlidingWindow] = [self._overall]
            if key is not None:
                own = max(self._paused.get(key, 0.0) - now, 0.0)
                if in_chat:
                    chat_windows = self._windows(key)
                    windows += chat_windows
                    own = max([own, *(w.delay(now) for w in chat_windows)])
            if max_wait is not None and own > max_wait:
                raise LimitWaitTooLongError(own)
            delay = max(own, self._overall.delay(now))
            if delay <= 0:
                for window in windows:
                    window.take()
                return windows
            await self._sleep(delay)

    async def pause(self, chat: int | str, seconds: float) -> None:
        """Hold every send to ``chat`` for ``seconds`` (Telegram answered 429 retry_after)."""
        key = str(chat)
        until = self._clock() + max(seconds, 0.0)
        self._paused[key] = max(self._paused.get(key, 0.0), until)
