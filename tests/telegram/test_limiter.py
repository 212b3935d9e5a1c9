"""The flood-limit scheduler never lets more through than Telegram allows, in any window."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from channels.telegram.limiter import LimitWaitTooLongError, SlidingWindow, TelegramLimiter


class FakeTime:
    """A clock that advances only when someone sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 1e-6)
        await asyncio.sleep(0)


def most_in_window(times: list[float], period: float) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end, moment in enumerate(times):
        while times[start] <= moment - period:
            start += 1
        best = max(best, end - start + 1)
    return best


def limiter(time: FakeTime, **limits: float) -> TelegramLimiter:
    return TelegramLimiter(clock=time.clock, sleep=time.sleep, **limits)  # type: ignore[arg-type]


async def test_message_in_flight_holds_its_slot_until_answered_and_a_window_after() -> None:
    time = FakeTime()
    limits = limiter(time, overall_per_second=1)
    order: list[str] = []

    async def slow() -> None:
        async with limits.slot(1):
            await time.sleep(3)  # the answer takes 3 s
            order.append(f"first answered at {time.now - 1000:.0f}")

    async def second() -> None:
        await asyncio.sleep(0)
        async with limits.slot(2):
            order.append(f"second sent at {time.now - 1000:.0f}")

    await asyncio.gather(slow(), second())

    assert order[0] == "first answered at 3"
    assert float(order[1].rsplit(" ", 1)[1]) >= 4.0


def test_window_admits_its_limit_then_says_how_long_to_wait() -> None:
    window = SlidingWindow(2, 1.0)
    window.take()
    window.take()
    window.release(10.0)
    window.release(10.2)

    assert window.delay(10.5) == pytest.approx(0.5)
    assert window.delay(10.9) == pytest.approx(0.1)
    assert window.delay(11.0) == 0.0


async def test_one_chat_gets_at_most_one_message_per_second_when_flooded() -> None:
    time = FakeTime()
    limits = limiter(time, per_chat_per_second=1.0)
    sent: list[float] = []

    async def send() -> None:
        async with limits.slot(42):
            sent.append(time.now)

    await asyncio.gather(*(send() for _ in range(10)))

    assert len(sent) == 10
    assert min(b - a for a, b in itertools.pairwise(sorted(sent))) >= 1.0


async def test_group_gets_at_most_twenty_per_minute_when_flooded() -> None:
    time = FakeTime()
    limits = limiter(time, per_chat_per_second=30, per_group_per_minute=20)
    sent: list[float] = []

    async def send() -> None:
        async with limits.slot(-100123):
            sent.append(time.now)

    await asyncio.gather(*(send() for _ in range(45)))

    assert most_in_window(sent, 60.0) == 20
    assert max(sent) - min(sent) >= 120.0


async def test_overall_limit_holds_across_many_chats() -> None:
    time = FakeTime()
    limits = limiter(time, overall_per_second=30)
    sent: list[float] = []

    async def send(chat: int) -> None:
        async with limits.slot(chat):
            sent.append(time.now)

    await asyncio.gather(*(send(chat) for chat in range(1, 301)))

    assert most_in_window(sent, 1.0) == 30
    # Full use of the allowance: 300 messages in about 10 seconds, not more.
    assert max(sent) - min(sent) == pytest.approx(9.0, abs=0.1)


async def test_edits_count_only_against_the_overall_limit() -> None:
    time = FakeTime()
    limits = limiter(time)
    for _ in range(5):
        async with limits.slot(42, in_chat=False):
            pass

    assert time.now == 1000.0


async def test_pause_after_429_holds_the_chat_only() -> None:
    time = FakeTime()
    limits = limiter(time)
    await limits.pause(42, 5)

    async with limits.slot(7):
        assert time.now == 1000.0
    async with limits.slot(42):
        assert time.now >= 1005.0


async def test_wait_longer_than_allowed_raises_with_the_delay() -> None:
    time = FakeTime()
    limits = limiter(time, per_group_per_minute=1)
    async with limits.slot(-100, max_wait=1):
        pass

    with pytest.raises(LimitWaitTooLongError) as caught:
        async with limits.slot(-100, max_wait=1):
            pass

    assert caught.value.delay == pytest.approx(60.0)
