"""A rate limit (Telegram's 429 ``retry_after``) defers a notification without using up its
attempts; only real failures count toward ``max_attempts`` (memory, SQLite, PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from channels.base import RateLimitedError, TransientSendError
from notify.dispatcher import Dispatcher
from notify.render import Renderer
from tests.notify.conftest import START, Clock, OutboxBackend, make_entry
from tests.notify.test_dispatcher import ScriptedChannel, make_dispatcher


async def rounds(outbox: OutboxBackend, dispatcher: Dispatcher, clock: Clock, count: int) -> None:
    """Up to ``count`` dispatcher rounds, each when the row is due again."""
    for _ in range(count):
        await dispatcher.run_once()
        row = await outbox.row("ack:1")
        if row.state != "pending":
            return
        clock.value = max(clock.value, row.next_attempt_at)


async def test_flood_waits_do_not_use_up_attempts_when_telegram_says_retry_after(
    outbox: OutboxBackend, renderer: Renderer, clock: Clock
) -> None:
    ticket = await outbox.new_ticket()
    await outbox.add([make_entry("ack:1", ticket_id=ticket)], START)
    floods = [RateLimitedError("Too Many Requests", retry_after=5) for _ in range(6)]
    channel = ScriptedChannel(script={"ack:1": floods})
    dispatcher = make_dispatcher(outbox, renderer, clock, channel, max_attempts=3)

    await dispatcher.run_once()
    deferred = await outbox.row("ack:1")
    assert (deferred.state, deferred.attempts) == ("pending", 0)
    assert deferred.next_attempt_at == START + timedelta(seconds=5)
    await rounds(outbox, dispatcher, clock, 10)

    row = await outbox.row("ack:1")
    assert (row.state, row.attempts) == ("sent", 1)
    assert len(channel.attempts) == 7
    assert len(channel.delivered) == 1
    assert await outbox.events() == []


async def test_real_failures_still_give_up_when_floods_come_between_them(
    outbox: OutboxBackend, renderer: Renderer, clock: Clock
) -> None:
    ticket = await outbox.new_ticket()
    await outbox.add([make_entry("ack:1", ticket_id=ticket)], START)
    flood = RateLimitedError("Too Many Requests", retry_after=1)
    script = [flood, TransientSendError("HTTP 502"), flood, flood, TransientSendError("HTTP 503")]
    channel = ScriptedChannel(script={"ack:1": script})
    dispatcher = make_dispatcher(outbox, renderer, clock, channel, max_attempts=2)

    await rounds(outbox, dispatcher, clock, 10)

    row = await outbox.row("ack:1")
    assert (row.state, row.attempts, row.last_error) == ("failed", 2, "HTTP 503")
    assert len(channel.attempts) == 5
    assert channel.delivered == []
    [(_, kind, data)] = await outbox.events()
    assert (kind, data["attempts"]) == ("notification_failed", 2)


async def test_a_failure_that_only_suggests_a_wait_still_counts(
    outbox: OutboxBackend, renderer: Renderer, clock: Clock
) -> None:
    ticket = await outbox.new_ticket()
    await outbox.add([make_entry("ack:1", ticket_id=ticket)], START)
    # E-mail's SMTP 4xx: a real failure that suggests when to try again.
    deferred = [TransientSendError("SMTP 451", retry_after=60) for _ in range(3)]
    channel = ScriptedChannel(script={"ack:1": deferred})
    dispatcher = make_dispatcher(outbox, renderer, clock, channel, max_attempts=2)

    await rounds(outbox, dispatcher, clock, 10)

    row = await outbox.row("ack:1")
    assert (row.state, row.attempts) == ("failed", 2)
    assert len(channel.attempts) == 2
