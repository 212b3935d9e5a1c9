"""Group commit for the inbox: messages arriving together are stored in one transaction.

Each caller still gets its answer only after the transaction holding its row has committed, so
"stored before acknowledged" holds per message. Nothing waits to form a batch: a lone message
is written at once, and whatever arrives while a write is in flight goes into the next one.
One round of database work per batch instead of per message is what lets the intake keep up
when a connection round trip costs more than the work it carries (SQLite's thread hand-offs,
a busy PostgreSQL server).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from channels.base import InboundMessage
from ticketing import inbox
from ticketing.db import Database
from ticketing.domain import IntakeResult
from ticketing.models import InboundMessageRow

logger = logging.getLogger(__name__)

_Waiting = tuple[inbox.NewInbound, asyncio.Future[inbox.StoredInbound]]
# Called with a committed batch before its callers hear of it (the intake queues the new ids).
AfterCommit = Callable[[Sequence[inbox.StoredInbound]], Awaitable[None]]
# What routing one inbox row produced: its id, the message, the answer.
Routed = tuple[int, InboundMessage, IntakeResult]
# Routes rows just stored, in the storing transaction (RouterWorker.route_rows) ...
RouteRows = Callable[[AsyncSession, Sequence[InboundMessageRow]], Awaitable[Sequence[Routed]]]
# ... and reports what a committed transaction routed (RouterWorker.report).
ReportRouted = Callable[[Sequence[Routed]], None]


class InboxWriter:
    """Stores inbox rows for concurrent callers, batching those that arrive together.

    Args:
        db: the database holding the inbox.
        now: the clock for ``received_at``.
        max_batch: the most rows one transaction stores.
    """

    def __init__(
        self,
        db: Database,
        now: Callable[[], datetime],
        *,
        after_commit: AfterCommit,
        max_batch: int = 256,
    ) -> None:
        self._db = db
        self._now = now
        self._after_commit = after_commit
        self._max_batch = max_batch
        self._waiting: list[_Waiting] = []
        self._route: tuple[RouteRows, ReportRouted] | None = None
        # The drain task lives only while there is work; it is held here so it is never lost,
        # and every failure it meets is handed to the callers waiting on it.
        self._drain_task: asyncio.Task[None] | None = None

    def route_with(self, route: RouteRows, report: ReportRouted) -> None:
        """Route new rows in the transaction that stores them (see Intake.route_with_store)."""
        self._route = (route, report)

    async def store(self, item: inbox.NewInbound) -> inbox.StoredInbound:
        """Store ``item`` (or find it stored already); returns once its transaction committed."""
        future: asyncio.Future[inbox.StoredInbound] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._drain_task is None or self._drain_task.done():
            self._drain_task = asyncio.create_task(self._drain(), name="inbox-group-commit")
        # A caller that gives up (client gone) does not cancel the batch its row is part of.
        return await asyncio.shield(future)

    async def _drain(self) -> None:
        batch: list[_Waiting] = []
        try:
            await self._drain_batches(batch)
        finally:  # cancelled (shutdown): nobody may wait forever on a batch that never ran
            for _, future in [*batch, *self._waiting]:
                future.cancel()

    async def _drain_batches(self, batch: list[_Waiting]) -> None:
        while self._waiting:
            batch[:] = self._waiting[: self._max_batch]
            del self._waiting[: self._max_batch]
            try:
                _settle(batch, await self._write([item for item, _ in batch]))
            except Exception as error:
                if len(batch) == 1:
                    _fail(batch, error)
                    continue
                # One bad row must not fail its neighbours: store them one by one.
                logger.warning("inbox batch failed; storing one by one", exc_info=True)
                for waiting in batch:
                    try:
                        _settle([waiting], await self._write([waiting[0]]))
                    except Exception as single_error:
                        _fail([waiting], single_error)

    async def _write(self, items: Sequence[inbox.NewInbound]) -> list[inbox.StoredInbound]:
        if self._route is not None:
            try:
                return await self._store_and_route(items, *self._route)
            except asyncio.CancelledError:
                raise
            except Exception:
                # Nothing of it committed: store the batch alone; the router routes it from
                # the queue and sets the failing message aside for replay.
                logger.warning("routing with the store failed; storing alone", exc_info=True)
        try:
            stored = await self._store(items)
        except DBAPIError as error:
            if not error.connection_invalidated:
                raise
            # The server restarted under a pooled connection (the pool does not ping first,
            # ticketing.db); SQLAlchemy has dropped the stale connections, so once more.
            logger.warning("database connection was lost; storing the batch again")
            stored = await self._store(items)
        await self._after_commit(stored)
        return stored

    async def _store_and_route(
        self, items: Sequence[inbox.NewInbound], route: RouteRows, report: ReportRouted
    ) -> list[inbox.StoredInbound]:
        now = self._now()
        async with self._db.transaction() as session:
            stored = await inbox.store_many(session, items, now)
            new = [(s.id, item) for s, item in zip(stored, items, strict=True) if s.created]
            routed = await route(session, inbox.adopt_new(session, new, now))
        report(routed)
        results = {inbound_id: result for inbound_id, _, result in routed}
        answers = [
            dataclasses.replace(s, result=results[s.id]) if s.created else s for s in stored
        ]
        # Redeliveries of rows stored earlier but not routed yet still go to the queue.
        await self._after_commit(answers)
        return answers

    async def _store(self, items: Sequence[inbox.NewInbound]) -> list[inbox.StoredInbound]:
        async with self._db.transaction() as session:
            return await inbox.store_many(session, items, self._now())


def _settle(batch: Sequence[_Waiting], answers: Sequence[inbox.StoredInbound]) -> None:
    for (_, future), answer in zip(batch, answers, strict=True):
        if not future.done():
            future.set_result(answer)


def _fail(batch: Sequence[_Waiting], error: Exception) -> None:
    for _, future in batch:
        if not future.done():
            future.set_exception(error)
