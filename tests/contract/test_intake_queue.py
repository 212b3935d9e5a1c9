"""One contract for the intake queue, run against the in-process twin and Redis Streams.

The embedded test run exercises the memory twin, the scaled run the Redis one (the backend a
run uses is the one a deployment of that kind would use).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import pytest
from redis.asyncio import Redis

from router.queue import IntakeQueue, MemoryIntakeQueue, RedisIntakeQueue
from tests.conftest import BACKEND, REDIS_URL
from ticketing.domain import IntakeOutcome, IntakeResult


@pytest.fixture
async def redis() -> AsyncIterator[Redis | None]:
    if BACKEND != "postgres":
        yield None
        return
    client = Redis.from_url(REDIS_URL)
    await client.flushdb()
    yield client
    await client.aclose()


def make_queue(redis: Redis | None) -> IntakeQueue:
    return MemoryIntakeQueue() if redis is None else RedisIntakeQueue(redis)


async def consume_until(
    queue: IntakeQueue, expected: int, *, batch_size: int = 10
) -> list[Sequence[int]]:
    batches: list[Sequence[int]] = []
    stop = asyncio.Event()

    async def handler(ids: Sequence[int]) -> None:
        batches.append(list(ids))
        if sum(len(b) for b in batches) >= expected:
            stop.set()

    await asyncio.wait_for(queue.consume(handler, stop, batch_size), timeout=10)
    return batches


async def test_submitted_ids_reach_the_consumer_in_batches(redis: Redis | None) -> None:
    queue = make_queue(redis)
    await queue.start()
    try:
        for inbound_id in range(1, 26):
            await queue.submit(inbound_id)
        batches = await consume_until(queue, 25, batch_size=10)
    finally:
        await queue.close()
    assert sorted(i for batch in batches for i in batch) == list(range(1, 26))
    assert max(len(b) for b in batches) <= 10


async def test_published_result_reaches_the_waiter_registered_before_submit(
    redis: Redis | None,
) -> None:
    queue = make_queue(redis)
    await queue.start()
    try:
        future = queue.expect(7)
        await queue.submit(7)
        result = IntakeResult(outcome=IntakeOutcome.CREATED, ticket_number=42)
        await queue.publish(7, result)
        assert await asyncio.wait_for(future, timeout=5) == result
    finally:
        await queue.close()


async def test_forgotten_waiter_is_not_resolved_and_leaks_nothing(redis: Redis | None) -> None:
    queue = make_queue(redis)
    await queue.start()
    try:
        future = queue.expect(8)
        queue.forget(8)
        await queue.publish(8, IntakeResult(outcome=IntakeOutcome.IGNORED, ticket_number=None))
        await asyncio.sleep(0.1)
        assert not future.done()
    finally:
        await queue.close()


async def test_entries_of_a_consumer_that_died_are_delivered_again(redis: Redis | None) -> None:
    if redis is None:
        # The memory twin dies with its process; recovery then comes from the inbox table,
        # which tests/intake covers. Here the contract is only that nothing is acked early.
        queue = make_queue(None)
        await queue.submit(1)
        batches = await consume_until(queue, 1)
        assert batches == [[1]]
        return
    dead = RedisIntakeQueue(redis, reclaim_idle_ms=50)
    await dead.start()
    await dead.submit(99)
    # Read without acknowledging, as a worker killed mid-batch would.
    await redis.xreadgroup("router", "dead-worker", {"okno:intake": ">"}, count=10)
    await dead.close()
    survivor = RedisIntakeQueue(redis, reclaim_idle_ms=50)
    await survivor.start()
    await asyncio.sleep(0.1)
    try:
        batches = await consume_until(survivor, 1)
    finally:
        await survivor.close()
    assert batches == [[99]]
