"""The intake pipeline end to end on the configured backend: store → route → ticket → outbox."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from channels.base import (
    Capability,
    InboundAttachment,
    InboundMessage,
    OutboundMessage,
    Sender,
    SendReceipt,
    ThreadRefs,
)
from okno.app import Okno, build, run_router
from okno.settings import Settings
from router.intake import Intake, IntakeMetrics
from router.queue import MemoryIntakeQueue
from ticketing.domain import ChannelKind, IntakeOutcome, IntakeResult, ReplyAddress, Status
from ticketing.files import FileStore
from ticketing.models import (
    CommentRow,
    ContactRow,
    IdentityRow,
    InboundMessageRow,
    OutboxRow,
    TicketEventRow,
    TicketRow,
)


def message(
    text: str,
    *,
    email: str = "ivanov@example.ru",
    external_id: str | None = None,
    subject: str = "",
    channel: ChannelKind = ChannelKind.API,
    **kwargs: object,
) -> InboundMessage:
    return InboundMessage(
        channel=channel,
        external_id=external_id or uuid.uuid4().hex,
        sender=Sender(name="Иван Иванов", email=email),
        subject=subject,
        text=text,
        reply_to=ReplyAddress(channel=ChannelKind.EMAIL, address=email),
        received_at=datetime.now(UTC),
        **kwargs,  # type: ignore[arg-type]
    )


async def count(okno: Okno, model: type[object]) -> int:
    async with okno.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_new_message_creates_ticket_with_acknowledgement_in_outbox(okno: Okno) -> None:
    result = await okno.intake.accept(
        message("Не печатает принтер на третьем этаже", subject="Принтер")
    )
    assert result.outcome is IntakeOutcome.CREATED
    assert result.ticket_number is not None
    async with okno.db.read() as session:
        ticket = await session.get_one(TicketRow, result.ticket_number)
        assert ticket.status == "new"
        assert ticket.subject == "Принтер"
        outbox = (await session.scalars(select(OutboxRow))).all()
        assert [(o.template, o.channel, o.address) for o in outbox] == [
            ("acknowledgement", "email", "ivanov@example.ru")
        ]
        assert outbox[0].payload["ticket_number"] == result.ticket_number
        assert (
            outbox[0]
            .payload["status_url"]
            .endswith("/t/" + okno.status_tokens.token_for(result.ticket_number))
        )
        inbound = (await session.scalars(select(InboundMessageRow))).one()
        assert (inbound.state, inbound.outcome, inbound.ticket_id) == (
            "done",
            "created",
            result.ticket_number,
        )


async def test_redelivery_returns_the_same_answer_and_creates_nothing_when_id_repeats(
    okno: Okno,
) -> None:
    first = await okno.intake.accept(message("VPN не подключается", external_id="ext-1"))
    again = await okno.intake.accept(message("VPN не подключается", external_id="ext-1"))
    assert again == first
    assert await count(okno, TicketRow) == 1
    assert await count(okno, InboundMessageRow) == 1
    assert await count(okno, OutboxRow) == 1


async def test_same_requester_same_problem_joins_open_ticket_across_channels(okno: Okno) -> None:
    first = await okno.intake.accept(
        message("Не могу зайти в почту, пишет неверный пароль", subject="Почта")
    )
    second = await okno.intake.accept(
        message(
            "Почта не открывается: не получается зайти, неверный пароль",
            channel=ChannelKind.WEBFORM,
        )
    )
    assert second.outcome is IntakeOutcome.APPENDED
    assert second.ticket_number == first.ticket_number
    async with okno.db.read() as session:
        comments = (await session.scalars(select(CommentRow))).all()
        assert len(comments) == 2
        templates = (await session.scalars(select(OutboxRow.template))).all()
        assert sorted(templates) == ["acknowledgement", "appended"]


async def test_different_problem_of_same_requester_opens_a_new_ticket(okno: Okno) -> None:
    first = await okno.intake.accept(message("Не могу зайти в почту, неверный пароль"))
    second = await okno.intake.accept(message("Сломался монитор, мерцает экран и гаснет"))
    assert second.outcome is IntakeOutcome.CREATED
    assert second.ticket_number != first.ticket_number


async def test_ticket_number_reference_threads_only_for_the_requester(okno: Okno) -> None:
    first = await okno.intake.accept(message("Нужен доступ к общей папке бухгалтерии"))
    assert first.ticket_number is not None
    own = await okno.intake.accept(
        message(
            "Дополнение: папка \\\\srv\\buh", refs=ThreadRefs(ticket_number=first.ticket_number)
        )
    )
    assert own.outcome is IntakeOutcome.APPENDED
    assert own.ticket_number == first.ticket_number
    stranger = await okno.intake.accept(
        message(
            "Закройте эту заявку",
            email="chuzhoy@example.ru",
            refs=ThreadRefs(ticket_number=first.ticket_number),
        )
    )
    assert stranger.outcome is IntakeOutcome.CREATED
    assert stranger.ticket_number != first.ticket_number


async def test_reply_while_waiting_moves_ticket_back_to_work(okno: Okno) -> None:
    first = await okno.intake.accept(message("Не работает сканер в переговорной"))
    assert first.ticket_number is not None
    async with okno.db.transaction() as session:
        await okno.tickets.change_status(
            session, first.ticket_number, Status.WAITING, actor="anna", now=okno.now()
        )
    await okno.intake.accept(
        message("Модель Canon, стоит у окна", refs=ThreadRefs(ticket_number=first.ticket_number))
    )
    async with okno.db.read() as session:
        ticket = await session.get_one(TicketRow, first.ticket_number)
        assert ticket.status == "in_progress"


async def test_bounce_creates_no_ticket_and_auto_reply_gets_no_acknowledgement(okno: Okno) -> None:
    bounce = await okno.intake.accept(message("Delivery failed", auto_generated="bounce"))
    assert bounce.outcome is IntakeOutcome.IGNORED
    assert bounce.ticket_number is None
    auto = await okno.intake.accept(
        message(
            "Я в отпуске до понедельника", email="otpusk@example.ru", auto_generated="auto-replied"
        )
    )
    assert auto.outcome is IntakeOutcome.CREATED
    assert await count(okno, OutboxRow) == 0


async def test_sender_with_several_addresses_becomes_one_contact(okno: Okno) -> None:
    both = InboundMessage(
        channel=ChannelKind.WEBFORM,
        external_id="form-1",
        sender=Sender(name="Пётр", email="petr@example.ru", phone="+79121234567"),
        text="Не работает интернет в кабинете 301",
    )
    await okno.intake.accept(both)
    by_phone = InboundMessage(
        channel=ChannelKind.PHONE,
        external_id="call-1",
        sender=Sender(phone="+79121234567"),
        text="Пропущенный звонок",
    )
    await okno.intake.accept(by_phone)
    assert await count(okno, ContactRow) == 1
    assert await count(okno, IdentityRow) == 2


async def test_routing_assigns_team_by_service_and_least_loaded_member(okno: Okno) -> None:
    numbers = []
    for index in range(3):
        result = await okno.intake.accept(
            message(
                f"Проблема номер {index} с почтовым ящиком {index}",
                email=f"u{index}@x.ru",
                service="email",
            )
        )
        numbers.append(result.ticket_number)
    async with okno.db.read() as session:
        rows = (await session.scalars(select(TicketRow).order_by(TicketRow.id))).all()
    assert [r.team for r in rows] == ["l1", "l1", "l1"]
    assert [r.assignee for r in rows] == ["anna", "boris", "anna"]


async def test_attachments_are_stored_and_linked_to_the_first_comment(okno: Okno) -> None:
    result = await okno.intake.accept(
        message(
            "Скриншот ошибки во вложении",
            attachments=(
                InboundAttachment(
                    filename="ошибка.png", content_type="image/png", content=b"\x89PNG.."
                ),
            ),
        )
    )
    assert result.ticket_number is not None
    async with okno.db.read() as session:
        detail_events = (await session.scalars(select(TicketEventRow.kind))).all()
    assert "created" in detail_events
    async with okno.db.read() as session:
        from ticketing.repository import TicketRepository

        detail = await TicketRepository(session).detail(result.ticket_number, public_only=True)
    assert detail is not None
    [attachment] = detail.comments[0].attachments
    assert attachment.filename == "ошибка.png"
    assert await okno.intake._files.read(attachment.sha256) == b"\x89PNG.."


async def test_unrouted_message_is_recovered_after_a_crash_between_commit_and_queue(
    okno: Okno,
) -> None:
    from ticketing import inbox

    stranded = message("Потерянное сообщение после сбоя", external_id="stranded")
    async with okno.db.transaction() as session:
        await inbox.store(
            session,
            channel=stranded.channel.value,
            external_id=stranded.external_id,
            payload=stranded.to_payload(),
            now=okno.now(),
        )
    from datetime import timedelta

    assert await okno.router.recover(older_than=timedelta(0)) == 1
    again = await okno.intake.accept(stranded)
    assert again.outcome is IntakeOutcome.CREATED
    assert await count(okno, TicketRow) == 1


async def store_without_routing(okno: Okno, *messages: InboundMessage) -> list[int]:
    from ticketing import inbox

    async with okno.db.transaction() as session:
        stored = [
            await inbox.store(
                session,
                channel=m.channel.value,
                external_id=m.external_id,
                payload=m.to_payload(),
                now=okno.now(),
            )
            for m in messages
        ]
    return [s.id for s in stored]


async def test_repeat_of_a_new_sender_joins_the_ticket_opened_earlier_in_the_same_batch(
    okno: Okno,
) -> None:
    ids = await store_without_routing(
        okno,
        message("Не могу зайти в почту, пишет неверный пароль", subject="Почта"),
        message("Почта не открывается: не получается зайти, неверный пароль"),
        message("Сломался монитор, мерцает экран и гаснет", email="drugoy@example.ru"),
    )
    await okno.router.handle_batch(ids)
    async with okno.db.read() as session:
        rows = (
            await session.scalars(select(InboundMessageRow).order_by(InboundMessageRow.id))
        ).all()
        templates = sorted((await session.scalars(select(OutboxRow.template))).all())
    assert [(r.state, r.outcome) for r in rows] == [
        ("done", "created"),
        ("done", "appended"),
        ("done", "created"),
    ]
    assert rows[0].ticket_id == rows[1].ticket_id != rows[2].ticket_id
    assert await count(okno, ContactRow) == 2
    assert await count(okno, TicketRow) == 2
    assert await count(okno, CommentRow) == 3
    assert templates == ["acknowledgement", "acknowledgement", "appended"]


async def test_failing_message_is_recorded_and_the_rest_of_its_batch_still_routed(
    okno: Okno,
) -> None:
    good = message("Не работает сканер в переговорной")
    bad = message("Письмо без обратного адреса")
    ids = await store_without_routing(okno, good, bad)
    async with okno.db.transaction() as session:
        row = await session.get_one(InboundMessageRow, ids[1])
        row.payload = {**row.payload, "sender": {**row.payload["sender"], "email": None}}
    await okno.router.handle_batch(ids)
    async with okno.db.read() as session:
        routed = await session.get_one(InboundMessageRow, ids[0])
        failed = await session.get_one(InboundMessageRow, ids[1])
    assert (routed.state, routed.outcome) == ("done", "created")
    # Recorded for replay (the recovery loop may have retried it meanwhile).
    assert failed.state != "done"
    assert failed.attempts >= 1
    assert "sender has no address" in (failed.error or "")
    assert await count(okno, TicketRow) == 1


async def drop_pooled_connections(okno: Okno) -> int:
    """Cut every connection idle in the pool, as a database restart does; returns how many."""
    await okno.intake.accept(message("Прогрев пула соединений"))  # the pool holds some now
    engine = okno.db.engine
    pool: Any = engine.sync_engine.pool
    if okno.db.dialect == "postgresql":
        admin = create_async_engine(okno.db.settings.url, poolclass=NullPool)
        try:
            async with admin.connect() as connection:
                killed = await connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                )
                return len(killed.all())
        finally:
            await admin.dispose()
    held = []
    while pool.checkedin():
        held.append(await engine.connect())
    drivers: list[Any] = [
        (await connection.get_raw_connection()).driver_connection for connection in held
    ]
    for connection in held:
        await connection.close()  # back to the pool, alive
    for driver in drivers:
        await driver.close()  # and now dead under the pool's feet
    return len(drivers)


async def test_a_lost_database_connection_costs_no_message(okno: Okno) -> None:
    assert await drop_pooled_connections(okno) >= 1
    result = await okno.intake.accept(message("После перезапуска базы", external_id="after"))
    assert result.outcome is IntakeOutcome.CREATED
    assert await count(okno, TicketRow) == 2


async def test_a_failing_message_does_not_hold_back_those_arriving_with_it(
    settings: Settings,
) -> None:
    """Stored together (one group commit), routed together: one bad message fails that batch.

    On the in-process queue the batch is routed in the storing transaction; its failure must
    still leave every message stored, the good ones routed and the bad one kept for replay.
    """
    quick = settings.model_copy(
        update={"queue": settings.queue.model_copy(update={"result_timeout_seconds": 2.0})}
    )
    bad = dataclasses.replace(
        message("Письмо без обратного адреса"), sender=Sender(name="Никто"), reply_to=None
    )
    async with build(quick, metrics_registry=CollectorRegistry()) as okno:
        stop = asyncio.Event()
        router = asyncio.create_task(run_router(okno, stop))
        try:
            results = await asyncio.gather(
                okno.intake.accept(message("Не работает сканер", email="a@example.ru")),
                okno.intake.accept(bad),
                okno.intake.accept(message("Сломался монитор", email="b@example.ru")),
            )
            async with okno.db.read() as session:
                failed = (
                    await session.scalars(
                        select(InboundMessageRow).where(
                            InboundMessageRow.external_id == bad.external_id
                        )
                    )
                ).one()
            tickets = await count(okno, TicketRow)
        finally:
            stop.set()
            await asyncio.wait_for(router, timeout=10)
    assert [r.outcome for r in results] == [
        IntakeOutcome.CREATED,
        IntakeOutcome.QUEUED,
        IntakeOutcome.CREATED,
    ]
    assert failed.state != "done"
    assert "sender has no address" in (failed.error or "")
    assert tickets == 2


class InstantRouterQueue(MemoryIntakeQueue):
    """An in-process queue whose "router" answers inside submit: faster than the caller
    resumes from the store, as a Redis worker can be when the HTTP process is busy."""

    async def submit_many(self, inbound_ids: Sequence[int]) -> None:
        for inbound_id in inbound_ids:
            result = IntakeResult(outcome=IntakeOutcome.CREATED, ticket_number=inbound_id)
            await self.publish(inbound_id, result)


async def test_an_answer_that_comes_before_the_caller_resumes_is_not_lost(
    okno: Okno, tmp_path: Path
) -> None:
    intake = Intake(
        db=okno.db,
        queue=InstantRouterQueue(),
        files=FileStore(tmp_path / "files", max_bytes=1024),
        metrics=IntakeMetrics(CollectorRegistry()),
        now=okno.now,
        result_timeout=5.0,
    )
    result = await asyncio.wait_for(intake.accept(message("Быстрый ответ")), timeout=4.0)
    assert result.outcome is IntakeOutcome.CREATED


class RecordingEmail:
    """An e-mail channel that only records what it is given to send."""

    kind = ChannelKind.EMAIL
    capabilities = Capability.SUBJECT | Capability.HTML | Capability.THREADING

    def __init__(self) -> None:
        self.sent: list[OutboundMessage] = []
        self.arrived = asyncio.Event()

    async def send(self, message: OutboundMessage) -> SendReceipt:
        self.sent.append(message)
        self.arrived.set()
        return SendReceipt(external_id=f"<{len(self.sent)}@test>")


async def test_the_acknowledgement_goes_out_at_once_not_at_the_dispatcher_s_next_poll(
    settings: Settings,
) -> None:
    slow_poll = settings.model_copy(
        update={"notify": settings.notify.model_copy(update={"poll_interval_seconds": 60.0})}
    )
    async with build(slow_poll, metrics_registry=CollectorRegistry()) as okno:
        email = RecordingEmail()
        okno.registry.register(email)
        stop = asyncio.Event()
        tasks = [
            asyncio.create_task(run_router(okno, stop)),
            asyncio.create_task(okno.dispatcher.run(stop)),
        ]
        try:
            await asyncio.sleep(0.3)  # the dispatcher found nothing and waits its 60 s
            result = await okno.intake.accept(message("Не работает VPN", email="vpn@example.ru"))
            await asyncio.wait_for(email.arrived.wait(), timeout=10)
        finally:
            stop.set()
            await asyncio.wait_for(asyncio.gather(*tasks), timeout=10)
    assert result.outcome is IntakeOutcome.CREATED
    assert [(m.recipient.address, m.ticket_number) for m in email.sent] == [
        ("vpn@example.ru", result.ticket_number)
    ]
