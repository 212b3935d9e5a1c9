"""The intake queue between the durable inbox and the router, with an in-process twin.

Only inbox row ids travel through the queue; the inbox table is the truth. Delivery is
at-least-once (a crashed consumer's entries come back), which is safe because processing an
inbox row is idempotent. Results go back to the process that is waiting for them (an HTTP
request) through a future, or through Redis pub/sub when producer and consumer are different
processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, cast

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from ticketing.domain import IntakeOutcome, IntakeResult

logger = logging.getLogger(__name__)

BatchHandler = Callable[[Sequence[int]], Awaitable[None]]


class IntakeQueue(Protocol):
    """Moves inbox ids to router workers and their results back to whoever waits."""

    async def start(self) -> None:
        """Connect and start listening for results."""
        ...

    async def close(self) -> None:
        """Stop listening and release connections."""
        ...

    def expect(self, inbound_id: int) -> asyncio.Future[IntakeResult]:
        """Register interest in a result before submitting, so it cannot be missed."""
        ...

    def forget(self, inbound_id: int) -> None:
        """Drop the interest registered by :meth:`expect` (on timeout or cancel)."""
        ...

    async def submit(self, inbound_id: int) -> None:
        """Hand an inbox id to the router workers."""
        ...

    async def submit_many(self, inbound_ids: Sequence[int]) -> None:
        """:meth:`submit` for several ids, in one round trip where the backend allows."""
        ...

    async def publish(self, inbound_id: int, result: IntakeResult) -> None:
        """Tell the waiting producer what became of the message."""
        ...

    async def publish_many(self, results: Sequence[tuple[int, IntakeResult]]) -> None:
        """:meth:`publish` for a routed batch, in one round trip where the backend allows."""
        ...

    async def consume(self, handler: BatchHandler, stop: asyncio.Event, batch_size: int) -> None:
        """Feed batches of ids to ``handler`` until ``stop`` is set; ack after it returns."""
        ...


def _encode(inbound_id: int, result: IntakeResult) -> str:
    return json.dumps(
        {
            "id": inbound_id,
            "outcome": result.outcome.value,
            "ticket": result.ticket_number,
            "reason": result.reason,
        }
    )


def _decode(raw: str | bytes) -> tuple[int, IntakeResult]:
    data: dict[str, Any] = json.loads(raw)
    return data["id"], IntakeResult(
        outcome=IntakeOutcome(data["outcome"]), ticket_number=data["ticket"], reason=data["reason"]
    )


def _stream_gone(error: ResponseError) -> bool:
    text = str(error)
    return text.startswith("NOGROUP") or "no longer exists" in text


class _Waiters:
    def __init__(self) -> None:
        self._futures: dict[int, asyncio.Future[IntakeResult]] = {}

    def expect(self, inbound_id: int) -> asyncio.Future[IntakeResult]:
        future = self._futures.get(inbound_id)
        if future is None or future.done():
            future = asyncio.get_running_loop().create_future()
            self._futures[inbound_id] = future
        return future

    def forget(self, inbound_id: int) -> None:
        self._futures.pop(inbound_id, None)

    def resolve(self, inbound_id: int, result: IntakeResult) -> None:
        future = self._futures.pop(inbound_id, None)
        if future is not None and not future.done():
            future.set_result(result)


class MemoryIntakeQueue:
    """The embedded twin: an asyncio queue inside the one okno process."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[int] = asyncio.Queue()
        self._waiters = _Waiters()

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def expect(self, inbound_id: int) -> asyncio.Future[IntakeResult]:
        return self._waiters.expect(inbound_id)

    def forget(self, inbound_id: int) -> None:
        self._waiters.forget(inbound_id)

    async def submit(self, inbound_id: int) -> None:
        self._queue.put_nowait(inbound_id)

    async def submit_many(self, inbound_ids: Sequence[int]) -> None:
        for inbound_id in inbound_ids:
            self._queue.put_nowait(inbound_id)

    async def publish(self, inbound_id: int, result: IntakeResult) -> None:
        self._waiters.resolve(inbound_id, result)

    async def publish_many(self, results: Sequence[tuple[int, IntakeResult]]) -> None:
        for inbound_id, result in results:
            self._waiters.resolve(inbound_id, result)

    async def consume(self, handler: BatchHandler, stop: asyncio.Event, batch_size: int) -> None:
        while not stop.is_set():
            try:
                first = await asyncio.wait_for(self._queue.get(), timeout=0.5)
            except TimeoutError:
                continue
            batch = [first]
            while len(batch) < batch_size and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            await handler(batch)


class RedisIntakeQueue:
    """Redis Streams with a consumer group; results over pub/sub.

    Entries a dead consumer had read but not acknowledged are reclaimed with XAUTOCLAIM after
    ``reclaim_idle_ms``.
    """

    def __init__(
        self,
        redis: Redis,
        *,
        stream: str = "okno:intake",
        group: str = "router",
        results_channel: str | None = None,
        reclaim_idle_ms: int = 30_000,
        block_ms: int = 500,
        linger_ms: float = 5.0,
    ) -> None:
        self._redis = redis
        self._stream = stream
        self._group = group
        # Pub/sub channels are shared by every database of a Redis server: name the database,
        # so installations (or test runs) on other databases never receive these results.
        db = redis.connection_pool.connection_kwargs.get("db", 0)
        self._channel = results_channel or f"okno:intake:results:{db}"
        self._reclaim_idle_ms = reclaim_idle_ms
        self._block_ms = block_ms
        self._linger = linger_ms / 1000
        self._consumer = f"{socket.gethostname()}-{os.getpid()}-{id(self):x}"
        self._waiters = _Waiters()
        self._listener: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    async def start(self) -> None:
        await self._create_group()
        self._listener = asyncio.create_task(self._listen(), name="intake-results-listener")
        await asyncio.wait_for(self._subscribed.wait(), timeout=10)

    async def _create_group(self) -> None:
        with contextlib.suppress(ResponseError):  # BUSYGROUP: it exists already
            await self._redis.xgroup_create(self._stream, self._group, id="0", mkstream=True)

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None

    async def _listen(self) -> None:
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(self._channel)
        self._subscribed.set()
        try:
            while True:
                message = await pubsub.get_message(timeout=1.0)
                if message is not None:
                    inbound_id, result = _decode(message["data"])
                    self._waiters.resolve(inbound_id, result)
        finally:
            await pubsub.aclose()  # type: ignore[no-untyped-call]

    def expect(self, inbound_id: int) -> asyncio.Future[IntakeResult]:
        return self._waiters.expect(inbound_id)

    def forget(self, inbound_id: int) -> None:
        self._waiters.forget(inbound_id)

    async def submit(self, inbound_id: int) -> None:
        await self._redis.xadd(self._stream, {"id": str(inbound_id)})

    async def submit_many(self, inbound_ids: Sequence[int]) -> None:
        if not inbound_ids:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for inbound_id in inbound_ids:
                pipe.xadd(self._stream, {"id": str(inbound_id)})
            await pipe.execute()

    async def publish(self, inbound_id: int, result: IntakeResult) -> None:
        await self._redis.publish(self._channel, _encode(inbound_id, result))

    async def publish_many(self, results: Sequence[tuple[int, IntakeResult]]) -> None:
        if not results:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for inbound_id, result in results:
                pipe.publish(self._channel, _encode(inbound_id, result))
            await pipe.execute()

    async def consume(self, handler: BatchHandler, stop: asyncio.Event, batch_size: int) -> None:
        reclaim_every = 20
        rounds = 0
        last_batch = 0
        while not stop.is_set():
            entries: list[tuple[bytes, dict[bytes, bytes]]] = []
            if rounds % reclaim_every == 0:
                entries = await self._reclaim(batch_size)
            rounds += 1
            if not entries:
                try:
                    entries = await self._read(batch_size, block=self._block_ms)
                except ResponseError as error:
                    if not _stream_gone(error):
                        raise
                    # Redis lost the stream (flushed, restarted empty): the inbox still has
                    # every message (the recovery loop re-queues them); start the group anew.
                    logger.warning("intake stream is gone; creating it again")
                    await self._create_group()
                    continue
                if 0 < len(entries) < batch_size and self._linger > 0 and last_batch > 1:
                    # Let a busy stream fill the batch a little: routing several messages in
                    # one transaction costs a worker far less than one each, for a few
                    # milliseconds of latency. A quiet stream (the last batch was one message)
                    # gets no wait: nothing would join, and the answer would only be later.
                    await asyncio.sleep(self._linger)
                    entries += await self._read(batch_size - len(entries), block=None)
            last_batch = len(entries)
            if not entries:
                continue
            ids = [int(fields[b"id"]) for _entry_id, fields in entries]
            await handler(ids)
            entry_ids = [entry_id for entry_id, _ in entries]
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.xack(self._stream, self._group, *entry_ids)
                pipe.xdel(self._stream, *entry_ids)
                await pipe.execute()

    async def _read(
        self, count: int, *, block: int | None
    ) -> list[tuple[bytes, dict[bytes, bytes]]]:
        response = await self._redis.xreadgroup(
            self._group, self._consumer, {self._stream: ">"}, count=count, block=block
        )
        if not response:
            return []
        # RESP2 answers [[stream, entries]]; RESP3 answers {stream: entries}.
        streams = response.items() if isinstance(response, dict) else response
        return [
            cast("tuple[bytes, dict[bytes, bytes]]", tuple(e))
            for _stream, stream_entries in streams
            for e in stream_entries
        ]

    async def _reclaim(self, count: int) -> list[tuple[bytes, dict[bytes, bytes]]]:
        response = await self._redis.xautoclaim(
            self._stream,
            self._group,
            self._consumer,
            min_idle_time=self._reclaim_idle_ms,
            start_id="0-0",
            count=count,
        )
        claimed = response[1]
        return [(entry_id, fields) for entry_id, fields in claimed if fields]
