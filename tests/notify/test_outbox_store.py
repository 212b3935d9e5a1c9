"""The outbox contract, run on the in-memory twin, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from tests.notify.conftest import LEASE, START, OutboxBackend, make_entry
from ticketing.domain import ChannelKind

ALL_CHANNELS = frozenset(ChannelKind)


async def test_entry_is_queued_once_when_its_idempotency_key_repeats(
    outbox: OutboxBackend,
) -> None:
    ticket = await outbox.new_ticket()
    first = await outbox.add([make_entry("ack:1", ticket_id=ticket)], START)
    again = await outbox.add(
        [make_entry("ack:1", ticket_id=ticket), make_entry("ack:2", ticket_id=ticket)], START
    )

    assert (first, again) == (1, 1)
    claimed = await outbox.store.claim_due(START, 10, ALL_CHANNELS)
    assert sorted(item.entry.idempotency_key for item in claimed) == ["ack:1", "ack:2"]


async def test_claim_returns_the_entry_as_written_when_due(outbox: OutboxBackend) -> None:
    ticket = await outbox.new_ticket()
    entry = make_entry("ack:1", ticket_id=ticket, channel=ChannelKind.EMAIL, locale="en")
    await outbox.add([entry], START)

    (item,) = await outbox.store.claim_due(START, 10, ALL_CHANNELS)

    assert item.entry == entry
    assert item.attempts == 1


async def test_claim_hides_rows_for_the_lease_when_claimed(outbox: OutboxBackend) -> None:
    ticket = await outbox.new_ticket()
    await outbox.add([make_entry("ack:1", ticket_id=ticket)], START)

    first = await outbox.store.claim_due(START, 10, ALL_CHANNELS)
    during_lease = await outbox.store.claim_due(START + LEASE / 2, 10, ALL_CHANNELS)
    after_lease = await outbox.store.claim_due(START + LEASE, 10, ALL_CHANNELS)

    assert len(first) == 1
    assert during_lease == []
    # A sender that crashed mid-send gets its row back, with the lost attempt counted.
    assert [item.attempts for item in after_lease] == [2]


async def test_claim_takes_only_listed_channels_when_others_are_due(
    outbox: OutboxBackend,
) -> None:
    ticket = await outbox.new_ticket()
    await outbox.add(
        [
            make_entry("tg", ticket_id=ticket, channel=ChannelKind.TELEGRAM),
            make_entry("mail", ticket_id=ticket, channel=ChannelKind.EMAIL),
        ],
        START,
    )

    claimed = await outbox.store.claim_due(START, 10, {ChannelKind.EMAIL})

    assert [item.entry.idempotency_key for item in claimed] == ["mail"]
    assert (await outbox.row("tg")).attempts == 0


async def test_claim_respects_limit_and_due_time_when_many_rows_wait(
    outbox: OutboxBackend,
) -> None:
    ticket = await outbox.new_ticket()
    await outbox.add([make_entry(f"n:{i}", ticket_id=ticket) for i in range(5)], START)
    await outbox.add([make_entry("later", ticket_id=ticket)], START + timedelta(minutes=5))

    claimed = await outbox.store.claim_due(START, 3, ALL_CHANNELS)
    rest = await outbox.store.claim_due(START, 10, ALL_CHANNELS)

    assert len(claimed) == 3
    assert len(rest) == 2
    assert {i.entry.idempotency_key for i in claimed + rest} == {f"n:{i}" for i in range(5)}


async def test_sent_row_is_never_claimed_again_when_marked_sent(outbox: OutboxBackend) -> None:
    ticket = await outbox.new_ticket()
    await outbox.add([make_entry("ack:1", ticket_id=ticket)], START)
    (item,) = await outbox.store.claim_due(START, 10, ALL_CHANNELS)

    await outbox.store.mark_sent(item.id, "tg-777", START)

    assert await outbox.store.claim_due(START + timedelta(days=1), 10, ALL_CHANNELS) == []
    row = await outbox.row("ack:1")
    assert (row.state, row.external_id, row.sent_at) == ("sent", "tg-777", START)


async def test_rows_sent_together_are_marked_together_and_settled_ones_stay_as_they_are(
    outbox: OutboxBackend,
) -> None:
    ticket = await outbox.new_ticket()
    await outbox.add([make_entry(f"ack:{n}", ticket_id=ticket) for n in range(3)], START)
    first, second, third = await outbox.store.claim_due(START, 10, ALL_CHANNELS)
    await outbox.store.mark_failed(third.id, "550 no such user", START)

    later = START + timedelta(seconds=5)
    await outbox.store.mark_sent_many(
        [(first.id, "m-1"), (second.id, None), (third.id, "m-3")], later
    )

    rows = [await outbox.row(f"ack:{n}") for n in range(3)]
    assert [(row.state, row.external_id, row.sent_at) for row in rows] == [
        ("sent", "m-1", later),
        ("sent", None, later),
        ("failed", None, None),
    ]
    await outbox.store.mark_sent_many([], later)  # nothing to write: no error


async def test_retried_row_is_due_again_at_the_given_time_when_marked_for_retry(
    outbox: OutboxBackend,
) -> None:
    ticket = await outbox.new_ticket()
    await outbox.add([make_entry("ack:1", ticket_id=ticket)], START)
    (item,) = await outbox.store.claim_due(START, 10, ALL_CHANNELS)
    retry_at = START + timedelta(seconds=5)

    await outbox.store.mark_retry(item.id, "HTTP 502", retry_at)

    assert await outbox.store.claim_due(retry_at - timedelta(seconds=1), 10, ALL_CHANNELS) == []
    (again,) = await outbox.store.claim_due(retry_at, 10, ALL_CHANNELS)
    assert again.attempts == 2
    assert (await outbox.row("ack:1")).last_error == "HTTP 502"


async def test_failed_row_records_a_ticket_event_when_marked_failed(
    outbox: OutboxBackend,
) -> None:
    ticket = await outbox.new_ticket()
    await outbox.add([make_entry("ack:1", ticket_id=ticket)], START)
    (item,) = await outbox.store.claim_due(START, 10, ALL_CHANNELS)

    await outbox.store.mark_failed(item.id, "bot was blocked by the user", START)
    await outbox.store.mark_failed(item.id, "a second call changes nothing", START)

    assert (await outbox.row("ack:1")).state == "failed"
    assert await outbox.store.claim_due(START + timedelta(days=1), 10, ALL_CHANNELS) == []
    ((ticket_id, kind, data),) = await outbox.events()
    assert (ticket_id, kind) == (ticket, "notification_failed")
    assert data == {
        "outbox_id": item.id,
        "template": "acknowledgement",
        "channel": "telegram",
        "address": "100500",
        "attempts": 1,
        "error": "bot was blocked by the user",
    }


async def test_failed_row_without_ticket_records_no_event_when_marked_failed(
    outbox: OutboxBackend,
) -> None:
    await outbox.add([make_entry("ack:1", ticket_id=None)], START)
    (item,) = await outbox.store.claim_due(START, 10, ALL_CHANNELS)

    await outbox.store.mark_failed(item.id, "no such chat", START)

    assert (await outbox.row("ack:1")).state == "failed"
    assert await outbox.events() == []


async def test_concurrent_claims_never_share_a_row_when_two_dispatchers_race(
    outbox: OutboxBackend,
) -> None:
    ticket = await outbox.new_ticket()
    keys = {f"n:{i}" for i in range(60)}
    await outbox.add([make_entry(key, ticket_id=ticket) for key in sorted(keys)], START)
    other = await outbox.second_store()

    claimed: list[str] = []
    for _ in range(10):
        first, second = await asyncio.gather(
            outbox.store.claim_due(START, 10, ALL_CHANNELS),
            other.claim_due(START, 10, ALL_CHANNELS),
        )
        if not first and not second:
            break
        claimed += [item.entry.idempotency_key for item in first + second]

    assert len(claimed) == len(set(claimed))
    assert set(claimed) <= keys
    assert len(claimed) == 60
