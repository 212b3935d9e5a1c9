"""Rate limits per client IP and per contact address, in memory or in Redis.

Both twins answer the same question — "may one more event for this key happen now?" — and
pass the same contract tests. The memory twin keeps an exact sliding window per key with a
bounded number of keys; the Redis twin keeps a fixed window per key (INCR + PEXPIRE in one Lua
script), shared by every process. Keys are hashed, so no address is stored in Redis.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


class RateLimiter(Protocol):
    """Counts events per key within a time window."""

    async def hit(self, key: str, *, limit: int, window: float) -> float | None:
        """Count one event for ``key``.

        Args:
            key: what is limited, e.g. ``ip:203.0.113.7``.
            limit: events allowed per window.
            window: the window in seconds.

        Returns:
            None if the event is allowed, else the seconds to wait before the next one is.
        """
        ...


class MemoryRateLimiter:
    """An exact sliding window per key, for one process.

    Memory is bounded: at most ``max_keys`` keys (least recently used ones are forgotten) and
    at most ``limit`` timestamps per key, since refused events are not recorded.
    """

    def __init__(
        self, *, max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._max_keys = max_keys
        self._clock = clock
        self._events: OrderedDict[str, deque[float]] = OrderedDict()

    async def hit(self, key: str, *, limit: int, window: float) -> float | None:
        """See :meth:`RateLimiter.hit`."""
        now = self._clock()
        events = self._events.pop(key, None) or deque()
        while events and events[0] <= now - window:
            events.popleft()
        refused = len(events) >= limit
        if refused:
            retry_after = events[0] + window - now
        else:
            events.append(now)
        self._events[key] = events
        while len(self._events) > self._max_keys:
            self._events.popitem(last=False)
        return max(retry_after, 0.001) if refused else None


_FIXED_WINDOW = """
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
    redis.call('PEXPIRE', KEYS[1], ARGV[1])
    ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""


class RedisRateLimiter:
    """A fixed window per key in Redis, shared by every okno process.

    When Redis cannot be reached the event is allowed (and a warning logged): the limiter
    protects intake, it must not take intake down with it.
    """

    def __init__(
        self, redis: Redis, *, prefix: str = "okno:ratelimit:", timeout: float = 2.0
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._timeout = timeout
        self._script = redis.register_script(_FIXED_WINDOW)

    async def hit(self, key: str, *, limit: int, window: float) -> float | None:
        """See :meth:`RateLimiter.hit`."""
        digest = hashlib.sha256(key.encode()).hexdigest()[:32]
        window_ms = max(math.ceil(window * 1000), 1)
        try:
            async with asyncio.timeout(self._timeout):
                count, ttl_ms = await self._script(
                    keys=[f"{self._prefix}{digest}"], args=[window_ms]
                )
        except (RedisError, OSError, TimeoutError):
            logger.warning("rate limiter unavailable; allowing", exc_info=True)
            return None
        if int(count) <= limit:
            return None
        return max(int(ttl_ms), 1) / 1000
