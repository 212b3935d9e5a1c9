"""The notice sink of the agents' side: every ticket notice becomes a desk job, written in the
same transaction as the change, so the group hears about every ticket even after a crash.

A change an agent makes from the group itself runs inside :func:`from_desk`; its notices are
marked ``echo: False`` so the group does not repeat what the agent just wrote there.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from ticketing import telegram_store
from ticketing.domain import Notice
from ticketing.telegram_store import DeskJob

_FROM_DESK: ContextVar[bool] = ContextVar("okno_telegram_from_desk", default=False)


@contextlib.contextmanager
def from_desk() -> Iterator[None]:
    """Mark the ticket changes made in the block as made from the agents' group."""
    token = _FROM_DESK.set(True)
    try:
        yield
    finally:
        _FROM_DESK.reset(token)


def job_for(notice: Notice, *, echo: bool) -> DeskJob:
    """The desk job of one notice; its key makes planning the notice twice queue one job."""
    # Through JSON with str() as the fallback: a notice may carry a date or an enum.
    data = json.loads(json.dumps({**notice.data, "_key": notice.key, "echo": echo}, default=str))
    return DeskJob(
        key=f"{notice.kind}:{notice.key}", ticket_id=notice.ticket.id, kind=notice.kind, data=data
    )


class DeskSink:
    """``NoticeSink`` for ``okno.notice_sinks``: queues desk work for the agents' group."""

    async def __call__(
        self, session: AsyncSession, notices: Sequence[Notice], now: datetime
    ) -> None:
        echo = not _FROM_DESK.get()
        jobs = [job_for(notice, echo=echo) for notice in notices]
        await telegram_store.add_jobs(session, jobs, now)


async def queue_job(session: AsyncSession, job: DeskJob, now: datetime) -> None:
    """Queue desk work that is not a ticket notice (a rating, an unreachable requester)."""
    await telegram_store.add_jobs(session, [job], now)
