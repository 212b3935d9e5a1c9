"""One contract for both rate limiters: in memory and in Redis.

The Redis twin uses the suite's Redis (tests/conftest.py) in every run; an unreachable Redis
fails the test rather than skipping it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from channels.webform.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from tests.conftest import REDIS_URL


@dataclass
class Backend:
    limiter: RateLimiter
    advance: Callable[[float], Awaitable[None]]


def redis_url() -> str:
    """The suite's Redis: both limiter twins are tested in every run, never skipped."""
    return REDIS_URL


@pytest.fixture(params=["memory", "redis"])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    if request.param == "memory":
        now = [0.0]

        async def tick(seconds: float) -> None:
            now[0] += seconds

        yield Backend(MemoryRateLimiter(clock=lambda: now[0]), tick)
        return
    redis = Redis.from_url(redis_url(), socket_timeout=5, socket_connect_timeout=5)
    prefix = f"okno:test:ratelimit:{uuid.uuid4().hex}:"
    try:
        await redis.ping()  # unreachable Redis fails the test instead of being skipped
        yield Backend(RedisRateLimiter(redis, prefix=prefix), asyncio.sleep)
        keys = [key async for key in redis.scan_iter(match=f"{prefix}*")]
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()


async def test_allows_up_to_the_limit_then_refuses(backend: Backend) -> None:
    answers = [await backend.limiter.hit("ip:1", limit=3, window=60) for _ in range(4)]

    assert answers[:3] == [None, None, None]
    assert answers[3] is not None
    assert 0 < answers[3] <= 60


async def test_keys_are_counted_apart(backend: Backend) -> None:
    await backend.limiter.hit("ip:1", limit=1, window=60)

    assert await backend.limiter.hit("ip:2", limit=1, window=60) is None
    assert await backend.limiter.hit("ip:1", limit=1, window=60) is not None


async def test_allows_again_once_the_window_has_passed(backend: Backend) -> None:
    await backend.limiter.hit("addr:a@example.com", limit=1, window=0.3)
    refused = await backend.limiter.hit("addr:a@example.com", limit=1, window=0.3)
    assert refused is not None
    assert refused <= 0.3

    await backend.advance(0.35)

    assert await backend.limiter.hit("addr:a@example.com", limit=1, window=0.3) is None


async def test_memory_limiter_forgets_least_recent_keys_beyond_its_bound() -> None:
    limiter = MemoryRateLimiter(max_keys=3, clock=lambda: 0.0)
    for number in range(5):
        await limiter.hit(f"ip:{number}", limit=1, window=60)

    assert await limiter.hit("ip:0", limit=1, window=60) is None
    assert await limiter.hit("ip:4", limit=1, window=60) is not None


async def test_memory_limiter_slides_its_window() -> None:
    now = [0.0]
    limiter = MemoryRateLimiter(clock=lambda: now[0])
    await limiter.hit("k", limit=2, window=10)
    now[0] = 6.0
    await limiter.hit("k", limit=2, window=10)

    now[0] = 9.0
    assert await limiter.hit("k", limit=2, window=10) == pytest.approx(1.0)
    now[0] = 10.5
    assert await limiter.hit("k", limit=2, window=10) is None


async def test_redis_limiter_allows_when_redis_is_unreachable() -> None:
    redis = Redis(
        host="127.0.0.1",
        port=1,
        socket_connect_timeout=0.5,
        socket_timeout=0.5,
        retry=Retry(NoBackoff(), retries=0),
    )
    try:
        limiter = RedisRateLimiter(redis, timeout=1.0)

        assert await limiter.hit("ip:1", limit=1, window=60) is None
        assert await limiter.hit("ip:1", limit=1, window=60) is None
    finally:
        await redis.aclose()
