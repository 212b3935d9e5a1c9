"""GroupCommit: concurrent requests go in groups, each caller gets its own answer."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from ticketing.group_commit import GroupCommit


class Recorder:
    def __init__(self, fail_first: int = 0) -> None:
        self.rounds: list[list[int]] = []
        self.fail_first = fail_first
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.hold = False

    async def handle(self, group: Sequence[int]) -> list[int]:
        self.rounds.append(list(group))
        if self.hold:
            self.entered.set()
            await self.release.wait()
        if len(self.rounds) <= self.fail_first:
            raise RuntimeError("store away")
        return [n * 10 for n in group]


async def test_requests_arriving_during_a_round_go_together_in_the_next() -> None:
    recorder = Recorder()
    recorder.hold = True
    commit: GroupCommit[int, int] = GroupCommit(recorder.handle)
    first = asyncio.create_task(commit.submit(1))
    await recorder.entered.wait()
    rest = [asyncio.create_task(commit.submit(n)) for n in (2, 3, 4)]
    await asyncio.sleep(0)
    recorder.release.set()
    assert await asyncio.gather(first, *rest) == [10, 20, 30, 40]
    assert recorder.rounds == [[1], [2, 3, 4]]


async def test_a_failed_round_fails_its_runner_and_the_others_run_again() -> None:
    recorder = Recorder(fail_first=1)
    recorder.hold = True
    commit: GroupCommit[int, int] = GroupCommit(recorder.handle)
    first = asyncio.create_task(commit.submit(1))
    await recorder.entered.wait()
    others = [asyncio.create_task(commit.submit(n)) for n in (2, 3)]
    await asyncio.sleep(0)
    recorder.release.set()
    with pytest.raises(RuntimeError, match="store away"):
        await first
    assert await asyncio.gather(*others) == [20, 30]
    assert recorder.rounds == [[1], [2, 3]]


async def test_a_caller_cancelled_before_its_round_is_never_handled() -> None:
    recorder = Recorder()
    recorder.hold = True
    commit: GroupCommit[int, int] = GroupCommit(recorder.handle)
    first = asyncio.create_task(commit.submit(1))
    await recorder.entered.wait()
    gone = asyncio.create_task(commit.submit(2))
    kept = asyncio.create_task(commit.submit(3))
    await asyncio.sleep(0)
    gone.cancel()
    recorder.release.set()
    assert await first == 10
    assert await kept == 30
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert recorder.rounds == [[1], [3]]
