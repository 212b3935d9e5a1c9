"""The dispatcher against real outbox stores, with a scripted channel at the transport seam."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry

from channels.base import (
    Capability,
    OutboundMessage,
    PermanentSendError,
    SendReceipt,
    TransientSendError,
)
from channels.registry import ChannelRegistry
from notify.dispatcher import Dispatcher
from notify.outbox import MemoryOutboxStore, OutboxStore
from notify.render import Renderer
from notify.settings import NotifySettings
from tests.notify.conftest import LEASE, START, Clock, OutboxBackend, make_entry
from ticketing.domain import ChannelKind, OutboxItem


class ScriptedChannel:
    """An outbound channel whose sends fail as scripted per idempotency key, then succeed."""

    def __init__(
        self,
        kind: ChannelKind = ChannelKind.TELEGRAM,
        capabilities: Capability = Capability.PUSH | Capability.HTML | Capability.BUTTONS,
        script: dict[str, Iterable[BaseException]] | None = None,
    ) -> None:
        self.kind = kind
        self.capabilities = capabilities
        self._script = {key: list(errors) for key, errors in (script or {}).items()}
        self.attempts: list[OutboundMessage] = []
        self.delivered: list[OutboundMessage] = []
        self.gate: asyncio.Event | None = None
        self.in_flight = 0
        self.max_in_flight = 0

    async def send(self, message: OutboundMessage) -> SendReceipt:
        self.attempts.append(message)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.gate is not None:
                await self.gate.wait()
            errors = self._script.get(message.idempotency_key)
            if errors:
                raise errors.pop(0)
        finally:
            self.in_flight -= 1
        self.delivered.append(message)
        return SendReceipt(external_id=f"tg-{len(self.delivered)}")


def make_dispatcher(
    outbox: OutboxBackend,
    renderer: Renderer,
    clock: Clock,
    *channels: ScriptedChannel,
    metrics: CollectorRegistry | None = None,
    **settings: object,
) -> Dispatcher:
    return Dispatcher(
        outbox.store,
        ChannelRegistry(channels),
        renderer,
        NotifySettings.model_validate(settings),
        clock,
        metrics_registry=metrics or CollectorRegistry(),
        jitter=lambda: 0.5,
    )


async def test_sends_each_row_once_when_run_repeatedly(
    outbox: OutboxBackend, renderer: Renderer, clock: Clock
) -> None:
    ticket = await outbox.new_ticket()
    await outbox.add([make_entry(f"ack:{n}", ticket_id=ticket) for n in range(3)], START)
    channel = ScriptedChannel()
    dispatcher = make_dispatcher(outbox, renderer, clock, channel)

    first = await dispatcher.run_once()
    clock.advance(LEASE * 2)
    second = await dispatcher.run_once()

    assert (first, second) == (3, 0)
    assert sorted(m.idempotency_key for m in channel.delivered) == ["ack:0", "ack:1", "ack:2"]
    row = await outbox.row("ack:0")
    assert (row.state, row.attempts, row.sent_at) == ("sent", 1, START)
    assert row.external_id is not None
    assert row.external_id.startswith("tg-")


class CountingStore:
    """The backend's store, counting the writes that record sends (each a round trip, even
    in memory)."""

    def __init__(self, store: OutboxStore) -> None:
        self._store = store
        self.sent_writes: list[int] = []

    async def claim_due(
        self, now: datetime, limit: int, channels: Collection[ChannelKind]
    ) -> list[OutboxItem]:
        return await self._store.claim_due(now, limit, channels)

    async def mark_sent(self, outbox_id: int, external_id: str | None, now: datetime) -> None:
        await self.mark_sent_many([(outbox_id, external_id)], now)

    async def mark_sent_many(self, sent: Sequence[tuple[int, str | None]], now: datetime) -> None:
        self.sent_writes.append(len(sent))
        await asyncio.sleep(0)
        await self._store.mark_sent_many(sent, now)

    async def mark_retry(
        self, outbox_id: int, error: str, next_attempt_at: datetime, *, counted: bool = True
    ) -> None:
        await self._store.mark_retry(outbox_id, error, next_attempt_at, counted=counted)

    async def mark_failed(self, outbox_id: int, error: str, now: datetime) -> None:
        await self._store.mark_failed(outbox_id, error, now)


async def test_sends_finishing_together_are_recorded_in_few_writes(
    outbox: OutboxBackend, renderer: Renderer, clock: Clock
) -> None:
    ticket = await outbox.new_ticket()
    await outbox.add([make_entry(f"ack:{n}", ticket_id=ticket) for n in range(12)], START)
    channel = ScriptedChannel()
    counting = CountingStore(outbox.store)
    dispatcher = Dispatcher(
        counting,
        ChannelRegistry([channel]),
        renderer,
        NotifySettings(max_concurrent_sends=12),
        clock,
        metrics_registry=CollectorRegistry(),
    )

    assert await dispatcher.run_once() == 12

    assert sum(counting.sent_writes) == 12
    assert len(counting.sent_writes) < 12
    states = {(await outbox.row(f"ack:{n}")).state for n in range(12)}
    assert states == {"sent"}


async def test_a_failed_write_of_sent_rows_leaves_them_to_come_back_after_the_lease(
    outbox: OutboxBackend, renderer: Renderer, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    ticket = await outbox.new_ticket()
    await outbox.add([make_entry(f"ack:{n}", ticket_id=ticket) for n in range(3)], START)
    counting = CountingStore(outbox.store)

    async def database_away(sent: Sequence[tuple[int, str | None]], now: datetime) -> None:
        raise ConnectionError("database away")

    counting.mark_sent_many = database_away  # type: ignore[method-assign]
    channel = ScriptedChannel()
    dispatcher = Dispatcher(
        counting,
        ChannelRegistry([channel]),
        renderer,
        NotifySettings(),
        clock,
        metrics_registry=CollectorRegistry(),
    )
    with caplog.at_level(logging.ERROR):
        assert await dispatcher.run_once() == 3

    assert len(channel.delivered) == 3
    assert {(await outbox.row(f"ack:{n}")).state for n in range(3)} == {"pending"}
    assert "could not record an outbox result" in caplog.text
    clock.advance(LEASE)
    again = ScriptedChannel()
    await make_dispatcher(outbox, renderer, clock, again).run_once()
    assert len(again.delivered) == 3  # at least once
    assert {(await outbox.row(f"ack:{n}")).state for n in range(3)} == {"sent"}


async def test_message_is_rendered_for_the_channel_when_sent(
    outbox: OutboxBackend, renderer: Renderer, clock: Clock
) -> None:
    ticket = await outbox.new_ticket()
    await outbox.add([make_entry("ack:1", ticket_id=ticket)], START)
    channel = ScriptedChannel()

    await make_dispatcher(outbox, renderer, clock, channel).run_once()

    (message,) = channel.delivered
    assert message.ticket_number == 4567
    assert message.html is not None
    assert "<b>Заявка #4567 принята</b>" in message.html
    # Due tomorrow in Moscow, seen from 11:00 Moscow time today.
    assert "Ожидаемое время решения: завтра в 14:30" in message.html
    assert [b.data for b in message.buttons] == ["https://desk.example/t/abc"]


async def test_retries_with_exponential_backoff_when_sends_fail_transiently(
    outbox: OutboxBackend, renderer: Renderer, clock: Clock
) -> None:
    ticket = await outbox.new_ticket()
    await outbox.add([make_entry("ack:1", ticket_id=ticket)], START)
    failures = [TransientSendError("HTTP 502"), TimeoutError(), TransientSendError("HTTP 503")]
    channel = ScriptedChannel(script={"ack:1": failures})
    dispatcher = make_dispatcher(outbox, renderer, clock, channel, backoff_base_seconds=2.0)

    waits: list[float] = []
    for _ in range(3):
        await dispatcher.run_once()
        row = await outbox.row("ack:1")
        waits.append((row.next_attempt_at - clock()).total_seconds())
        clock.value = row.next_attempt_at
    await dispatcher.run_once()

    # base × 2^(n−1) with equal jitter at 0.5: three quarters of 2, 4 and 8 seconds.
    assert waits == [1.5, 3.0, 6.0]
    row = await outbox.row("ack:1")
    assert (row.state, row.attempts, len(channel.delivered)) == ("sent", 4, 1)
    assert row.last_error == "HTTP 503"


@pytest.mark.parametrize(("retry_after", "expected"), [(30.0, 30.0), (86_400.0, 3600.0)])
async def test_waits_as_told_up_to_the_cap_when_channel_gives_retry_after(
    outbox: OutboxBackend,
    renderer: Renderer,
    clock: Clock,
    retry_after: float,
    expected: float,
) -> None:
    ticket = await outbox.new_ticket()
    await outbox.add([make_entry("ack:1", ticket_id=ticket)], START)
    flood = TransientSendError("Too Many Requests", retry_after=retry_after)
    channel = ScriptedChannel(script={"ack:1": [flood]})

    await make_dispatcher(outbox, renderer, clock, channel, backoff_max_seconds=3600).run_once()

    row = await outbox.row("ack:1")
    assert row.next_attempt_at == START + timedelta(seconds=expected)


def test_backoff_is_capped_when_attempts_grow_large(renderer: Renderer, clock: Clock) -> None:
    dispatcher = Dispatcher(
        MemoryOutboxStore(),
        ChannelRegistry(),
        renderer,
        NotifySettings(backoff_base_seconds=2.0, backoff_max_seconds=600),
        clock,
        metrics_registry=CollectorRegistry(),
        jitter=lambda: 0.5,
    )

    assert dispatcher.backoff(1) == timedelta(seconds=1.5)
    assert dispatcher.backoff(40) == timedelta(seconds=450)
    assert dispatcher.backoff(10_000) == timedelta(seconds=450)


async def test_marks_failed_and_tells_agents_when_send_fails_permanently(
    outbox: OutboxBackend, renderer: Renderer, clock: Clock
) -> None:
    ticket = await outbox.new_ticket()
    await outbox.add([make_entry("ack:1", ticket_id=ticket)], START)
    blocked = PermanentSendError("Forbidden: bot was blocked by the user")
    channel = ScriptedChannel(script={"ack:1": [blocked]})
    metrics = CollectorRegistry()
    dispatcher = make_dispatcher(outbox, renderer, clock, channel, metrics=metrics)

    await dispatcher.run_once()
    clock.advance(timedelta(days=1))
    await dispatcher.run_once()

    assert len(channel.attempts) == 1
    assert (await outbox.row("ack:1")).state == "failed"
    ((ticket_id, kind, data),) = await outbox.events()
    assert (ticket_id, kind) == (ticket, "notification_failed")
    assert data["error"] == "Forbidden: bot was blocked by the user"
    assert metrics.get_sample_value("okno_outbox_failed_total", {"channel": "telegram"}) == 1


async def test_marks_failed_when_attempts_run_out(
    outbox: OutboxBackend, renderer: Renderer, clock: Clock
) -> None:
    ticket = await outbox.new_ticket()
    await outbox.add([make_entry("ack:1", ticket_id=ticket)], START)
    down = [TransientSendError("connection refused") for _ in range(10)]
    channel = ScriptedChannel(script={"ack:1": down})
    metrics = CollectorRegistry()
    dispatcher = make_dispatcher(outbox, renderer, clock, channel, metrics=metrics, max_attempts=3)

    for _ in range(5):
        await dispatcher.run_once()
        clock.advance(timedelta(hours=1))

    assert len(channel.attempts) == 3
    row = await outbox.row("ack:1")
    assert (row.state, row.attempts) == ("failed", 3)
    ((_, kind, data),) = await outbox.events()
    assert (kind, data["attempts"], data["error"]) == ("notification_failed", 3, row.last_error)
    assert metrics.get_sample_value("okno_outbox_retry_total", {"channel": "telegram"}) == 2
    assert metrics.get_sample_value("okno_outbox_failed_total", {"channel": "telegram"}) == 1


async def test_unexpected_error_is_retried_and_logged_when_channel_raises_it(
    outbox: OutboxBackend,
    renderer: Renderer,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ticket = await outbox.new_ticket()
    await outbox.add([make_entry("ack:1", ticket_id=ticket)], START)
    channel = ScriptedChannel(script={"ack:1": [RuntimeError("adapter bug")]})

    with caplog.at_level(logging.WARNING, logger="notify.dispatcher"):
        await make_dispatcher(outbox, renderer, clock, channel).run_once()

    row = await outbox.row("ack:1")
    assert (row.state, row.last_error) == ("pending", "RuntimeError('adapter bug')")
    (record,) = [r for r in caplog.records if r.name == "notify.dispatcher"]
    assert getattr(record, "outbox_id", None) is not None
    assert record.exc_info is not None


async def test_marks_failed_without_sending_when_payload_cannot_be_rendered(
    outbox: OutboxBackend, renderer: Renderer, clock: Clock
) -> None:
    ticket = await outbox.new_ticket()
    broken = make_entry("ack:1", ticket_id=ticket, payload={"ticket_number": 4567})
    await outbox.add([broken], START)
    channel = ScriptedChannel()

    await make_dispatcher(outbox, renderer, clock, channel).run_once()

    assert channel.attempts == []
    row = await outbox.row("ack:1")
    assert row.state == "failed"
    assert row.last_error is not None
    assert "render" in row.last_error


async def test_claims_only_registered_channels_when_others_have_rows(
    outbox: OutboxBackend, renderer: Renderer, clock: Clock
) -> None:
    ticket = await outbox.new_ticket()
    await outbox.add(
        [
            make_entry("tg", ticket_id=ticket),
            make_entry("mail", ticket_id=ticket, channel=ChannelKind.EMAIL),
        ],
        START,
    )
    channel = ScriptedChannel(kind=ChannelKind.TELEGRAM)

    handled = await make_dispatcher(outbox, renderer, clock, channel).run_once()

    assert handled == 1
    assert (await outbox.row("mail")).attempts == 0


async def test_sends_at_most_the_bound_at_once_when_a_batch_is_large(
    outbox: OutboxBackend, renderer: Renderer, clock: Clock
) -> None:
    ticket = await outbox.new_ticket()
    await outbox.add([make_entry(f"ack:{n}", ticket_id=ticket) for n in range(6)], START)
    channel = ScriptedChannel()
    channel.gate = asyncio.Event()
    dispatcher = make_dispatcher(outbox, renderer, clock, channel, max_concurrent_sends=2)

    round_ = asyncio.create_task(dispatcher.run_once())
    while channel.in_flight < 2:
        await asyncio.sleep(0)
    for _ in range(20):
        await asyncio.sleep(0)
    channel.gate.set()
    await round_

    assert channel.max_in_flight == 2
    assert len(channel.delivered) == 6


async def test_row_comes_back_after_the_lease_when_the_sender_is_cancelled(
    outbox: OutboxBackend, renderer: Renderer, clock: Clock
) -> None:
    ticket = await outbox.new_ticket()
    await outbox.add([make_entry("ack:1", ticket_id=ticket)], START)
    stuck = ScriptedChannel()
    stuck.gate = asyncio.Event()
    stop = asyncio.Event()
    running = asyncio.create_task(make_dispatcher(outbox, renderer, clock, stuck).run(stop))
    while not stuck.attempts:
        await asyncio.sleep(0.001)

    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running

    assert (await outbox.row("ack:1")).state == "pending"
    clock.advance(LEASE)
    channel = ScriptedChannel()
    await make_dispatcher(outbox, renderer, clock, channel).run_once()
    assert [m.idempotency_key for m in channel.delivered] == ["ack:1"]
    assert (await outbox.row("ack:1")).attempts == 2


async def test_wake_starts_a_round_before_the_poll_interval_when_rows_arrive(
    outbox: OutboxBackend, renderer: Renderer, clock: Clock
) -> None:
    ticket = await outbox.new_ticket()
    channel = ScriptedChannel()
    dispatcher = make_dispatcher(outbox, renderer, clock, channel, poll_interval_seconds=60)
    stop = asyncio.Event()
    running = asyncio.create_task(dispatcher.run(stop))
    await asyncio.sleep(0.05)  # the first, empty round is over; now it idles for a minute

    await outbox.add([make_entry("ack:1", ticket_id=ticket)], START)
    dispatcher.wake()
    async with asyncio.timeout(5):
        while not channel.delivered:
            await asyncio.sleep(0.005)
    stop.set()
    async with asyncio.timeout(5):
        await running

    assert [m.idempotency_key for m in channel.delivered] == ["ack:1"]
