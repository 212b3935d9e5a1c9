"""Group commit for concurrent callers: one store round for everything that arrived together.

The first request is handled at once; requests arriving while a round runs wait and go
together in the next. Each caller still gets its own answer only after the round holding its
request finished, so "done before answered" holds per request. Used where many small writes
come at the same time (sent outbox rows, the e-mail loop-protection checks).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

__all__ = ["GroupCommit"]

RequestT = TypeVar("RequestT")
AnswerT = TypeVar("AnswerT")


class _Pending(Generic[RequestT, AnswerT]):
    __slots__ = ("answer", "done", "request")

    def __init__(self, request: RequestT) -> None:
        self.request = request
        self.done = False
        self.answer: AnswerT | None = None


class GroupCommit(Generic[RequestT, AnswerT]):
    """Runs ``handle`` on groups of concurrent requests, one group at a time.

    Args:
        handle: takes a group of requests and returns one answer per request, in order.

    A failed round fails only the caller that ran it; the other requests of its group go back
    to the queue and their own callers run them again. A caller cancelled before its round
    ran takes its request out: it is never handled.
    """

    def __init__(self, handle: Callable[[Sequence[RequestT]], Awaitable[Sequence[AnswerT]]]):
        self._handle = handle
        self._waiting: list[_Pending[RequestT, AnswerT]] = []
        self._lock = asyncio.Lock()

    async def submit(self, request: RequestT) -> AnswerT:
        mine: _Pending[RequestT, AnswerT] = _Pending(request)
        self._waiting.append(mine)
        try:
            async with self._lock:
                if not mine.done:
                    await self._run(mine)
        except asyncio.CancelledError:
            if not mine.done and mine in self._waiting:
                self._waiting.remove(mine)
            raise
        return mine.answer  # type: ignore[return-value]  # done: set by its round

    async def _run(self, mine: _Pending[RequestT, AnswerT]) -> None:
        group, self._waiting = self._waiting, []
        try:
            answers = await self._handle([pending.request for pending in group])
        except BaseException:
            self._waiting[:0] = [pending for pending in group if pending is not mine]
            raise
        for pending, answer in zip(group, answers, strict=True):
            pending.answer, pending.done = answer, True
