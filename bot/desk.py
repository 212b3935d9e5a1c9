"""The agents' desk: turns queued ticket events into cards, topics and lines in the group.

Work is queued by :class:`bot.desk_sink.DeskSink` in the transaction that changed the ticket,
so a crash right after a ticket commits loses nothing: the job waits in
``telegram_desk_job``. One job per ticket is claimed at a time (in order); every step is
idempotent — a topic is created only when the ticket has none, a card only when it has none
(or it was deleted), and the card is redrawn from the ticket's current state. A topic someone
deleted ("message thread not found") is recreated with a fresh card. Flood limits surface as
``TransientSendError`` and the job simply comes back later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from datetime import timedelta

from bot.context import BotDeps
from bot.desk_post import DeskPoster
from channels.base import TransientSendError
from ticketing import telegram_store
from ticketing.telegram_store import ClaimedJob

log = logging.getLogger(__name__)

_LEASE = timedelta(seconds=120)
_BATCH = 20


class Desk:
    """Claims desk jobs and carries them out through :class:`DeskPoster`."""

    def __init__(self, deps: BotDeps, poster: DeskPoster) -> None:
        self._deps = deps
        self._poster = poster
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Look for work now instead of after the poll interval."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Work until ``stop``; idle for ``desk_poll_seconds`` (or until woken) when empty."""
        while not stop.is_set():
            self._wake.clear()
            try:
                handled = await self.run_once()
            except Exception:
                log.exception("desk round failed")
                handled = 0
            if handled == 0:
                await _first(stop, self._wake, self._deps.settings.desk_poll_seconds)

    async def run_once(self) -> int:
        """Carry out one batch (one job per ticket); returns how many jobs it held."""
        if self._deps.agents_chat is None:
            return 0
        async with self._deps.db.transaction() as session:
            claimed = await telegram_store.claim_jobs(session, self._deps.now(), _BATCH, _LEASE)
        async with asyncio.TaskGroup() as group:
            for job in claimed:
                group.create_task(self._process(job))
        return len(claimed)

    async def _process(self, claimed: ClaimedJob) -> None:
        deps = self._deps
        state, error, retry_at = "done", None, None
        try:
            await self._poster.apply(claimed.job)
        except asyncio.CancelledError:
            raise
        except TransientSendError as exc:
            state, error = "pending", str(exc)
            delay = exc.retry_after if exc.retry_after is not None else _backoff(claimed.attempts)
            retry_at = deps.now() + timedelta(seconds=delay)
        except Exception as exc:
            log.exception("desk job failed", extra={"job": claimed.job.key})
            error = repr(exc)
            if claimed.attempts < deps.settings.desk_max_attempts:
                state = "pending"
                retry_at = deps.now() + timedelta(seconds=_backoff(claimed.attempts))
            else:
                state = "failed"
        async with deps.db.transaction() as session:
            await telegram_store.settle_job(
                session, claimed.id, state=state, now=deps.now(), error=error, retry_at=retry_at
            )


def _backoff(attempts: int) -> float:
    ceiling = min(2.0 ** max(attempts - 1, 0), 300.0)
    return ceiling / 2 + random.random() * ceiling / 2  # noqa: S311 - jitter, not secrecy


async def _first(stop: asyncio.Event, wake: asyncio.Event, seconds: float) -> None:
    """Wait until ``stop`` or ``wake`` is set, at most ``seconds``."""
    waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            waiting.cancel()
