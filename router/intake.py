"""The single way in: store durably, then route; and the worker that routes stored messages."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from sqlalchemy.ext.asyncio import AsyncSession

from channels.base import InboundMessage, StoredFile
from router.group_commit import InboxWriter, Routed
from router.queue import IntakeQueue
from router.steps import (
    Decision,
    Routing,
    Step,
    prepare_batch,
    priority_of,
    run_pipeline,
    ticket_type_of,
)
from ticketing import inbox
from ticketing.db import Database
from ticketing.domain import Attachment, IntakeOutcome, IntakeResult
from ticketing.files import FileStore
from ticketing.models import InboundMessageRow
from ticketing.service import NewTicket, TicketService

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
# How long an answer waits for a caller that has not taken it yet (see Intake._queue_stored).
ANSWER_KEPT_SECONDS = 60.0


class IntakeMetrics:
    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self.received = Counter(
            "okno_intake_received", "Inbound messages stored", ["channel"], registry=registry
        )
        self.redelivered = Counter(
            "okno_intake_redelivered",
            "Inbound messages seen before",
            ["channel"],
            registry=registry,
        )
        self.routed = Counter(
            "okno_intake_routed", "Messages routed by outcome", ["outcome"], registry=registry
        )
        self.failed = Counter(
            "okno_intake_failed", "Routing attempts that failed", registry=registry
        )
        self.route_seconds = Histogram(
            "okno_router_batch_seconds", "Time to route one batch", registry=registry
        )


class Intake:
    """Accepts a message: stores its files and the message, queues it, waits for the answer."""

    def __init__(
        self,
        *,
        db: Database,
        queue: IntakeQueue,
        files: FileStore,
        metrics: IntakeMetrics,
        now: Callable[[], datetime],
        result_timeout: float,
        outbox_written: Callable[[], None] = lambda: None,
    ) -> None:
        self._db = db
        self._queue = queue
        self._files = files
        self._metrics = metrics
        self._now = now
        self._timeout = result_timeout
        # Wakes this process's dispatcher: the acknowledgement is committed by the time the
        # answer is here, and an idle dispatcher would find it only at its next poll.
        self._outbox_written = outbox_written
        self._inbox = InboxWriter(db, now, after_commit=self._queue_stored)
        self._answers: dict[int, asyncio.Future[IntakeResult]] = {}

    def route_with_store(self, router: RouterWorker) -> None:
        """Route new messages in the transaction that stores them (the in-process queue).

        With the router in this process there is nobody to hand the message to: storing and
        routing together saves a transaction, a re-read of the row and a queue round per
        batch. A batch whose routing fails is stored alone instead and queued, and the router
        then isolates the failing message as always.
        """
        self._inbox.route_with(router.route_rows, router.report)

    async def accept(self, message: InboundMessage) -> IntakeResult:
        """Store ``message`` durably and return what became of it.

        The caller may acknowledge its source as soon as this returns (or raises nothing):
        the message is committed. When routing takes longer than the timeout the answer is
        ``queued`` and routing finishes in the background.
        """
        message = await self._store_files(message)
        stored = await self._inbox.store(
            inbox.NewInbound(
                channel=message.channel.value,
                external_id=message.external_id,
                payload=message.to_payload(),
            )
        )
        if stored.created:
            self._metrics.received.labels(message.channel.value).inc()
        if stored.result is not None:
            if stored.created:
                self._outbox_written()  # routed with the store (the fast path)
            else:
                self._metrics.redelivered.labels(message.channel.value).inc()
            return stored.result
        # Registered when its batch committed, before it was queued (see _queue_stored).
        future = self._answers.pop(stored.id, None) or self._queue.expect(stored.id)
        try:
            result = await asyncio.wait_for(asyncio.shield(future), timeout=self._timeout)
        except TimeoutError:
            return IntakeResult(outcome=IntakeOutcome.QUEUED, ticket_number=None)
        finally:
            self._queue.forget(stored.id)
        self._outbox_written()
        return result

    async def _queue_stored(self, batch: Sequence[inbox.StoredInbound]) -> None:
        """Queue a committed batch's unrouted messages, waiters first so no answer is missed."""
        unrouted = [stored.id for stored in batch if stored.result is None]
        for inbound_id in unrouted:
            future = self._queue.expect(inbound_id)
            self._answers[inbound_id] = future
            # Its caller takes it. If the caller went away, it goes a while after the answer
            # came: not at once, because a fast router can answer before the caller has even
            # resumed from the store, and a dropped answer left it waiting for the timeout.
            future.add_done_callback(functools.partial(self._drop_answer_later, inbound_id))
        await self._queue.submit_many(unrouted)

    def _drop_answer_later(self, inbound_id: int, _future: asyncio.Future[IntakeResult]) -> None:
        asyncio.get_running_loop().call_later(
            ANSWER_KEPT_SECONDS, self._answers.pop, inbound_id, None
        )

    async def _store_files(self, message: InboundMessage) -> InboundMessage:
        if not message.attachments:
            return message
        stored: list[StoredFile] = list(message.files)
        for attachment in message.attachments:
            digest = await self._files.put(attachment.filename, attachment.content)
            stored.append(
                StoredFile(
                    sha256=digest,
                    filename=attachment.filename,
                    content_type=attachment.content_type,
                    size=len(attachment.content),
                )
            )
        return dataclasses.replace(message, files=tuple(stored), attachments=())


class RouterWorker:
    """Routes stored inbox rows; each row in its own transaction, exactly once."""

    def __init__(
        self,
        *,
        db: Database,
        queue: IntakeQueue,
        steps: Sequence[Step],
        tickets: TicketService,
        metrics: IntakeMetrics,
        now: Callable[[], datetime],
    ) -> None:
        self._db = db
        self._queue = queue
        self._steps = tuple(steps)
        self._tickets = tickets
        self._metrics = metrics
        self._now = now

    async def handle_batch(self, ids: Sequence[int]) -> None:
        """Route a batch in one transaction; if anything in it fails, route each id alone.

        In one transaction the senders are identified together, the new tickets take their
        numbers from one allocation, and tickets, comments, events, outbox rows and inbox marks
        are written together at the end: a few statements per batch instead of a dozen per
        message. Each message still sees what the ones before it did (ticketing.held). Nothing
        of a failed batch commits; routing its ids one by one then isolates the failing message
        (recorded for replay) and lets the others through.
        """
        started = time.perf_counter()
        try:
            results = await self._route_batch(ids)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.warning(
                "batch routing failed; routing one by one",
                exc_info=True,
                extra={"count": len(ids)},
            )
            results = {inbound_id: await self.process(inbound_id) for inbound_id in ids}
        await self._queue.publish_many(
            [(inbound_id, result) for inbound_id, result in results.items() if result is not None]
        )
        self._metrics.route_seconds.observe(time.perf_counter() - started)

    async def _route_batch(self, ids: Sequence[int]) -> dict[int, IntakeResult | None]:
        results: dict[int, IntakeResult | None] = dict.fromkeys(ids)
        async with self._db.transaction() as session:
            pending, processed = await inbox.claim_many(session, ids)
            for row in processed:
                results[row.id] = inbox.result_of(row)
            routed = await self.route_rows(session, pending)
        self.report(routed)
        results.update((inbound_id, result) for inbound_id, _, result in routed)
        return results

    async def route_rows(
        self, session: AsyncSession, rows: Sequence[InboundMessageRow]
    ) -> list[Routed]:
        """Route claimed inbox rows inside the caller's transaction; nothing is committed here.

        The caller commits, then hands the answer to :meth:`report`. Used by the worker above
        and by the intake's embedded fast path, which stores and routes in one transaction.
        """
        now = self._now()
        routed: list[Routed] = []
        async with self._tickets.batch(session, now, expected_tickets=len(rows)):
            # Writes wait for the end of the batch (ticketing.held, no autoflush); whatever
            # reads them writes them first (see ticketing.held, router.thread).
            with session.no_autoflush:
                routings, rest = await prepare_batch(
                    self._steps,
                    [
                        Routing(
                            message=InboundMessage.from_payload(row.payload),
                            inbound_id=row.id,
                            now=now,
                        )
                        for row in rows
                    ],
                    session,
                )
                for row, prepared in zip(rows, routings, strict=True):
                    routing = await run_pipeline(rest, prepared, session)
                    result = await self._apply(session, routing)
                    inbox.finish(row, result, now)
                    routed.append((row.id, routing.message, result))
        return routed

    def report(self, routed: Sequence[Routed]) -> None:
        """Count and log what a committed transaction routed."""
        for inbound_id, message, result in routed:
            self._routed(inbound_id, message, result)

    async def process(self, inbound_id: int) -> IntakeResult | None:
        """Route one inbox row; None if another worker has it or it failed (kept for replay)."""
        try:
            async with self._db.transaction() as session:
                row = await inbox.claim(session, inbound_id)
                if row is None:
                    done = await inbox.get(session, inbound_id)
                    return None if done is None else inbox.result_of(done)
                message, result = await self._route(session, row)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            self._metrics.failed.inc()
            logger.exception("routing failed", extra={"inbound_id": inbound_id})
            async with self._db.transaction() as session:
                row = await inbox.get(session, inbound_id)
                give_up = row is not None and row.attempts + 1 >= MAX_ATTEMPTS
                await inbox.record_failure(session, inbound_id, repr(error), give_up=give_up)
            return None
        self._routed(inbound_id, message, result)
        return result

    async def _route(
        self, session: AsyncSession, row: InboundMessageRow
    ) -> tuple[InboundMessage, IntakeResult]:
        message = InboundMessage.from_payload(row.payload)
        now = self._now()
        routing = await run_pipeline(
            self._steps, Routing(message=message, inbound_id=row.id, now=now), session
        )
        result = await self._apply(session, routing)
        inbox.finish(row, result, now)
        return message, result

    def _routed(self, inbound_id: int, message: InboundMessage, result: IntakeResult) -> None:
        self._metrics.routed.labels(result.outcome.value).inc()
        logger.info(
            "message routed",
            extra={
                "inbound_id": inbound_id,
                "channel": message.channel.value,
                "outcome": result.outcome.value,
                "ticket": result.ticket_number,
            },
        )

    async def _apply(self, session: AsyncSession, routing: Routing) -> IntakeResult:
        message = routing.message
        files = tuple(
            Attachment(
                sha256=f.sha256, filename=f.filename, content_type=f.content_type, size=f.size
            )
            for f in message.files
        )
        if routing.decision is Decision.IGNORE:
            return IntakeResult(
                outcome=IntakeOutcome.IGNORED, ticket_number=None, reason=routing.reason
            )
        assert routing.contact is not None  # noqa: S101 - Identify always runs
        if routing.decision is Decision.APPEND and routing.ticket_number is not None:
            row = await self._tickets.load(session, routing.ticket_number)
            await self._tickets.add_requester_message(
                session,
                row,
                text=message.text,
                author_name=message.sender.name,
                channel=message.channel,
                now=routing.now,
                inbound_id=routing.inbound_id,
                attachments=files,
                reason=routing.reason or "reply",
                acknowledge=routing.acknowledge and routing.reason == "duplicate",
            )
            return IntakeResult(
                outcome=IntakeOutcome.APPENDED, ticket_number=row.id, reason=routing.reason
            )
        found = routing.classification
        decided = routing.priority
        row = await self._tickets.create(
            session,
            NewTicket(
                subject=_subject_of(message),
                text=message.text,
                requester_id=routing.contact.id,
                requester=routing.contact,
                author_name=message.sender.name,
                origin_channel=message.channel,
                reply_to=message.reply_to,
                type=ticket_type_of(routing),
                priority=priority_of(routing),
                impact=decided.impact if decided else 3,
                urgency=decided.urgency if decided else 3,
                service=message.service or (found.service if found else None),
                category=found.category if found else None,
                tags=found.tags if found else (),
                classified=bool(found and found.rule_id),
                team=routing.team,
                assignee=routing.assignee,
                fingerprint=tuple(sorted(routing.fingerprint)),
                attachments=files,
                inbound_id=routing.inbound_id,
                acknowledge=routing.acknowledge,
                related_ticket=routing.related_ticket,
                event_data={
                    "channel": message.channel.value,
                    "priority_reason": decided.reason if decided else None,
                    "rule": found.rule_id if found else None,
                    "confidence": found.confidence if found else 0.0,
                },
            ),
            routing.now,
        )
        return IntakeResult(outcome=IntakeOutcome.CREATED, ticket_number=row.id)

    async def recover(self, older_than: timedelta) -> int:
        """Re-queue inbox rows stored but never routed (a crash between commit and queue)."""
        async with self._db.read() as session:
            ids = await inbox.pending_ids(session, self._now() - older_than)
        for inbound_id in ids:
            await self._queue.submit(inbound_id)
        if ids:
            logger.info("re-queued unrouted messages", extra={"count": len(ids)})
        return len(ids)


def _subject_of(message: InboundMessage) -> str:
    subject = " ".join(message.subject.split())
    if subject:
        return subject[:300]
    first_line = next((line.strip() for line in message.text.splitlines() if line.strip()), "")
    return (first_line[:77] + "…") if len(first_line) > 80 else first_line or "(no subject)"
