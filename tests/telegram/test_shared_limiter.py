"""The limiter okno runs with: shared through Redis when configured (postgres run), this
process's own otherwise (sqlite run). Two "processes" are two limiters on two Redis
connections; in memory they are one limiter, as every sender of a process shares it."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr
from redis.asyncio import Redis

from channels.telegram.limiter import (
    Limiter,
    LimiterUnavailableError,
    LimitWaitTooLongError,
    TelegramLimiter,
)
from channels.telegram.redis_limiter import RedisTelegramLimiter
from channels.telegram.session import limiter_for
from channels.telegram.settings import TelegramLimits, TelegramSettings
from tests.telegram.harness import TOKEN
from tests.telegram.test_limiter import most_in_window

# Fast windows: 10 messages/s per chat (0.1 s apart), 20/s overall, 2 per minute per group.
LIMITS = TelegramLimits(
    per_chat_per_second=10, per_group_per_minute=2, overall_per_second=20, margin=0
)
#: Loopback jitter between a slot's grant at Redis and the moment the test sees it.
JITTER = 0.02


def configured(limits: TelegramLimits = LIMITS) -> TelegramSettings:
    return TelegramSettings(enabled=True, token=SecretStr(TOKEN), limits=limits)


@pytest.fixture
async def processes(redis_url: str | None) -> AsyncIterator[tuple[Limiter, Limiter]]:
    """The limiters of two okno processes of one bot."""
    if redis_url is None:
        shared = limiter_for(configured(), None)
        assert isinstance(shared, TelegramLimiter)
        yield shared, shared
        return
    clients = [Redis.from_url(redis_url), Redis.from_url(redis_url)]
    try:
        first, second = (limiter_for(configured(), client) for client in clients)
        assert isinstance(first, RedisTelegramLimiter)
        yield first, second
    finally:
        for client in clients:
            await client.aclose()


async def send(limiter: Limiter, chat: int, sent: list[float], *, busy: float = 0.0) -> None:
    async with limiter.slot(chat):
        sent.append(time.monotonic())
        await asyncio.sleep(busy)  # the request is in flight


async def test_one_chat_is_paced_across_processes(processes: tuple[Limiter, Limiter]) -> None:
    sent: list[float] = []

    await asyncio.gather(*(send(processes[n % 2], 42, sent) for n in range(6)))

    gaps = [b - a for a, b in itertools.pairwise(sorted(sent))]
    assert len(sent) == 6
    assert min(gaps) >= 0.1 - JITTER


async def test_overall_limit_holds_across_processes(processes: tuple[Limiter, Limiter]) -> None:
    sent: list[float] = []

    await asyncio.gather(*(send(processes[n % 2], 1000 + n, sent) for n in range(50)))

    assert most_in_window(sent, 1.0 - JITTER) <= 20
    # Full use of the allowance: the 41st message goes after two windows, not much later.
    assert 2.0 - JITTER <= max(sent) - min(sent) <= 3.0


async def test_message_in_flight_keeps_the_chat_busy_for_the_other_process(
    processes: tuple[Limiter, Limiter],
) -> None:
    first: list[float] = []
    second: list[float] = []

    async def later() -> None:
        await asyncio.sleep(0.05)
        await send(processes[1], 42, second)

    await asyncio.gather(send(processes[0], 42, first, busy=0.3), later())

    # Answered at +0.3 s, then one window of 0.1 s.
    assert second[0] - first[0] >= 0.4 - JITTER


async def test_group_allowance_is_shared_and_a_long_wait_is_refused(
    processes: tuple[Limiter, Limiter],
) -> None:
    async with processes[0].slot(-100123, max_wait=1):
        pass
    await asyncio.sleep(0.15)
    async with processes[1].slot(-100123, max_wait=1):
        pass
    await asyncio.sleep(0.15)

    with pytest.raises(LimitWaitTooLongError) as caught:
        async with processes[0].slot(-100123, max_wait=1):
            pass

    assert 59.0 <= caught.value.delay <= 60.0


async def test_flood_wait_from_one_process_pauses_the_chat_for_all(
    processes: tuple[Limiter, Limiter],
) -> None:
    await processes[0].pause(42, 0.5)
    began = time.monotonic()

    async with processes[1].slot(7):
        other_chat = time.monotonic() - began
    async with processes[1].slot(42):
        paused_chat = time.monotonic() - began

    assert other_chat < 0.2
    assert paused_chat >= 0.5 - JITTER


async def test_unreachable_redis_is_an_error_not_a_free_pass() -> None:
    redis = Redis.from_url("redis://127.0.0.1:9", socket_connect_timeout=0.5)
    limiter = limiter_for(configured(), redis)
    try:
        with pytest.raises(LimiterUnavailableError):
            async with limiter.slot(42):
                pytest.fail("sent without a slot")
    finally:
        await redis.aclose()


async def test_a_crowd_of_senders_does_not_exhaust_the_shared_redis_pool(
    redis_url: str | None,
) -> None:
    # okno's Redis client is shared (intake queue, dialogs…); redis-py refuses a call when
    # its pool is exhausted instead of waiting.
    redis = Redis.from_url(redis_url, max_connections=10) if redis_url else None
    roomy = TelegramLimits(per_chat_per_second=10, overall_per_second=1000, margin=0)
    limiter = limiter_for(configured(roomy), redis)
    sent: list[float] = []
    try:
        await asyncio.gather(*(send(limiter, 5000 + n, sent) for n in range(300)))
    finally:
        if redis is not None:
            await redis.aclose()

    assert len(sent) == 300
