"""Sends what the outbox holds: claim a batch, render, send concurrently, settle each row.

Successful sends are recorded by group commit (``ticketing.group_commit``): the first one is
written at once, and those finishing while that write runs go together in the next, so a busy
round costs a few transactions instead of one per notification.

A transient failure is retried with exponential backoff and jitter (or when the channel says);
a permanent one, or running out of attempts, marks the row failed, which the store turns into a
``notification_failed`` event the agents see. A rate limit (Telegram's 429 ``retry_after``) is
a deferral, not a failure: the row waits as told and the attempt does not count. Rows a
crashed dispatcher had claimed come back when their lease ends.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from prometheus_client import REGISTRY, CollectorRegistry, Counter

from channels.base import (
    Capability,
    OutboundChannel,
    OutboundMessage,
    PermanentSendError,
    RateLimitedError,
    TransientSendError,
)
from channels.registry import ChannelRegistry
from notify.outbox import OutboxStore
from notify.render import Renderer, to_outbound
from notify.settings import NotifySettings
from ticketing.domain import OutboxItem
from ticketing.group_commit import GroupCommit

__all__ = ["Dispatcher", "DispatcherMetrics"]

log = logging.getLogger(__name__)


class DispatcherMetrics:
    """Counters per channel, registered on the given registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.sent = Counter(
            "okno_outbox_sent", "Notifications sent", ["channel"], registry=registry
        )
        self.failed = Counter(
            "okno_outbox_failed", "Notifications given up on", ["channel"], registry=registry
        )
        self.retry = Counter(
            "okno_outbox_retry",
            "Notification sends to retry later",
            ["channel"],
            registry=registry,
        )


@dataclass(frozen=True, slots=True)
class _Sent:
    external_id: str | None


@dataclass(frozen=True, slots=True)
class _Retry:
    error: str
    retry_after: float | None = None


@dataclass(frozen=True, slots=True)
class _Failed:
    error: str


@dataclass(frozen=True, slots=True)
class _Deferred:
    error: str
    retry_after: float | None


_Outcome = _Sent | _Retry | _Deferred | _Failed


class Dispatcher:
    """Drains the outbox through the registered channels.

    Args:
        store: where outbox rows are claimed and settled.
        registry: the outbound channels; only their kinds are claimed.
        renderer: turns a row's template and payload into text.
        settings: batch size, attempts, backoff, polling.
        now: the clock (UTC, aware).
        metrics_registry: where the counters are registered.
        jitter: a source of floats in [0, 1); seeded in tests.
    """

    def __init__(
        self,
        store: OutboxStore,
        registry: ChannelRegistry,
        renderer: Renderer,
        settings: NotifySettings,
        now: Callable[[], datetime],
        *,
        metrics_registry: CollectorRegistry = REGISTRY,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._store = store
        self._registry = registry
        self._renderer = renderer
        self._settings = settings
        self._now = now
        self._jitter = jitter
        self._metrics = DispatcherMetrics(metrics_registry)
        self._wake = asyncio.Event()
        self._sends = asyncio.Semaphore(settings.max_concurrent_sends)
        self._sent: GroupCommit[tuple[int, str | None], None] = GroupCommit(self._mark_sent)

    async def _mark_sent(self, sent: Sequence[tuple[int, str | None]]) -> list[None]:
        # A row whose write fails stays pending and is sent again after its lease (at least once).
        await self._store.mark_sent_many(sent, self._now())
        return [None] * len(sent)

    def wake(self) -> None:
        """Ask for a round now instead of after the poll interval (new rows were queued)."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Run rounds until ``stop`` is set; a full batch starts the next round at once."""
        while not stop.is_set():
            self._wake.clear()
            try:
                handled = await self.run_once()
            except Exception:
                # The database may be briefly away; the next round tries again.
                log.exception("outbox round failed")
                handled = 0
            if handled < self._settings.batch_size:
                await self._idle(stop)

    async def run_once(self) -> int:
        """Claim one batch for the registered channels and settle every row; returns its size."""
        kinds = self._registry.kinds()
        if not kinds:
            return 0
        items = await self._store.claim_due(self._now(), self._settings.batch_size, kinds)
        async with asyncio.TaskGroup() as group:
            for item in items:
                group.create_task(self._process(item))
        return len(items)

    async def _idle(self, stop: asyncio.Event) -> None:
        waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
        try:
            await asyncio.wait(
                waits,
                timeout=self._settings.poll_interval_seconds,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            for waiting in waits:
                waiting.cancel()

    async def _process(self, item: OutboxItem) -> None:
        async with self._sends:
            outcome = await self._attempt(item)
        try:
            await self._settle(item, outcome)
        except Exception:
            # The row's lease runs out and it is claimed again; sending twice beats never.
            log.exception("could not record an outbox result", extra=_extra(item))

    async def _attempt(self, item: OutboxItem) -> _Outcome:
        if item.attempts > self._settings.max_attempts:
            # Only a sender that died mid-attempt leaves a row to exceed the limit.
            return _Failed(f"gave up after {item.attempts - 1} attempts")
        channel = self._registry.get(item.entry.recipient.channel)
        if channel is None:
            return _Retry(f"no channel registered for {item.entry.recipient.channel.value}")
        message = self._message(item, channel.capabilities)
        if isinstance(message, _Failed):
            return message
        return await self._send(item, channel, message)

    def _message(self, item: OutboxItem, capabilities: Capability) -> OutboundMessage | _Failed:
        entry = item.entry
        try:
            rendered = self._renderer.render(
                entry.template,
                locale=entry.locale,
                timezone=entry.timezone,
                payload=entry.payload,
                now=self._now(),
                channel=entry.recipient.channel,
            )
            return to_outbound(item, rendered, capabilities)
        except Exception as exc:
            # A template or payload error repeats on every attempt: fail now, agents are told.
            log.exception("could not render a notification", extra=_extra(item))
            return _Failed(f"render: {exc!r}")

    async def _send(
        self, item: OutboxItem, channel: OutboundChannel, message: OutboundMessage
    ) -> _Outcome:
        try:
            receipt = await channel.send(message)
        except RateLimitedError as exc:
            return _Deferred(str(exc) or repr(exc), exc.retry_after)
        except TransientSendError as exc:
            return _Retry(str(exc) or repr(exc), exc.retry_after)
        except PermanentSendError as exc:
            return _Failed(str(exc) or repr(exc))
        except Exception as exc:
            log.warning("unexpected error while sending", exc_info=True, extra=_extra(item))
            return _Retry(repr(exc))
        return _Sent(receipt.external_id)

    async def _settle(self, item: OutboxItem, outcome: _Outcome) -> None:
        channel = item.entry.recipient.channel.value
        match outcome:
            case _Sent(external_id):
                await self._sent.submit((item.id, external_id))
                self._metrics.sent.labels(channel=channel).inc()
            case _Deferred(error, retry_after):
                delay = self.backoff(item.attempts, retry_after)
                await self._store.mark_retry(item.id, error, self._now() + delay, counted=False)
                self._metrics.retry.labels(channel=channel).inc()
                log.info("notification send deferred", extra=_extra(item, error=error))
            case _Retry(error, retry_after) if item.attempts < self._settings.max_attempts:
                delay = self.backoff(item.attempts, retry_after)
                await self._store.mark_retry(item.id, error, self._now() + delay)
                self._metrics.retry.labels(channel=channel).inc()
                log.info("notification send will be retried", extra=_extra(item, error=error))
            case _Retry(error) | _Failed(error):
                await self._store.mark_failed(item.id, error, self._now())
                self._metrics.failed.labels(channel=channel).inc()
                log.warning("notification failed", extra=_extra(item, error=error))

    def backoff(self, attempts: int, retry_after: float | None = None) -> timedelta:
        """The wait before the next try after ``attempts`` tries.

        ``retry_after`` from the channel wins; otherwise base × 2^(attempts−1), with "equal
        jitter" (between half and all of it) so retries of one outage spread out. Both are
        capped at ``backoff_max_seconds``.
        """
        cap = self._settings.backoff_max_seconds
        if retry_after is not None:
            return timedelta(seconds=min(max(retry_after, 0.0), cap))
        exponent = min(max(attempts - 1, 0), 62)  # 2**62 × base is past any cap already
        ceiling = min(self._settings.backoff_base_seconds * 2**exponent, cap)
        return timedelta(seconds=ceiling / 2 + self._jitter() * ceiling / 2)


def _extra(item: OutboxItem, **more: object) -> dict[str, object]:
    return {
        "outbox_id": item.id,
        "ticket_id": item.entry.ticket_id,
        "channel": item.entry.recipient.channel.value,
        "template": item.entry.template,
        "attempts": item.attempts,
        **more,
    }
