"""After a calendar or agreement change, recompute the affected open tickets in the background.

Each ``ticket_sla`` row remembers the hash of the policy it was computed with (its agreement,
that agreement's calendar, and how agreements are chosen); only rows whose hash is no longer
current are touched, in batches of their own short transactions, so agents never wait long.
On PostgreSQL rows someone holds are skipped and picked up by the next pass; several processes
may run it at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from sla.keeper import facts_for
from sla.policy import SlaPolicy
from sla.records import record_from_state, state_from_record
from sla.tracker import track
from ticketing import sla_store
from ticketing.db import Database

logger = logging.getLogger(__name__)
_WORKERS = 2


class Recompute:
    """Brings stale SLA rows up to the current policy.

    Args:
        db: the ticket database.
        policy: the current agreements and calendars.
        batch_size: tickets per transaction.
        now: the clock.
    """

    def __init__(
        self,
        *,
        db: Database,
        policy: SlaPolicy,
        batch_size: int,
        now: Callable[[], datetime],
    ) -> None:
        self._db = db
        self._policy = policy
        self._batch_size = batch_size
        self._now = now

    async def batch(self, after: int) -> tuple[int, int]:
        """Recompute one batch of stale rows above ticket ``after``: (count, last ticket id)."""
        now = self._now()
        async with self._db.transaction() as session:
            rows = await sla_store.stale(
                session, self._policy.current_hashes(), after=after, limit=self._batch_size
            )
            if not rows:
                return 0, after
            facts = await facts_for(session, self._policy, [ticket for _, ticket in rows])
            states = [
                track(
                    state_from_record(record), ticket, self._policy.plan_for(facts[ticket.id]), now
                )
                for record, ticket in rows
            ]
            await sla_store.save(
                session,
                [record_from_state(state) for state in states],
                now,
                before={record.ticket_id: record for record, _ in rows},
            )
        return len(rows), rows[-1][0].ticket_id

    async def run(self) -> int:
        """Recompute until no stale row is left; how many rows were recomputed.

        On PostgreSQL two batches are in flight at once: while one waits for the database the
        other computes, and SKIP LOCKED keeps them off each other's rows (they take the next
        stale rows along). SQLite has one writer, so one batch at a time there.
        """
        workers = 1 if self._db.dialect == "sqlite" else _WORKERS
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(self._passes()) for _ in range(workers)]
        total = sum(task.result() for task in tasks)
        if total:
            logger.info("sla policy changed: recomputed open tickets", extra={"count": total})
        return total

    async def _passes(self) -> int:
        """Passes over the stale rows in ticket order until one finds none (rows someone held
        are skipped by a pass and taken by the next)."""
        total = 0
        while True:
            done, after = 0, 0
            while True:
                count, after = await self.batch(after)
                if not count:
                    break
                done += count
                await asyncio.sleep(0)  # a long recompute must not starve the event loop
            total += done
            if not done:
                return total
