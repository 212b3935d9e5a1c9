"""The e-mail channel through the running service: Dovecot in, okno, aiosmtpd out."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, func, select

from channels.email.settings import AfterStore
from okno.settings import Settings
from tests.email.conftest import DESK, Desk, email_settings, running_desk
from tests.fakes.dovecot import FakeDovecot, ImapClient, wait_until
from tests.fakes.smtp import FakeSmtp
from tests.fakes.tcpproxy import CuttingProxy
from ticketing.email_store import SqlEmailStore
from ticketing.models import CommentRow, InboundMessageRow, OutboxRow, TicketRow, utcnow
from ticketing.rows_email import QuarantineRow, UndeliverableRow

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "email"


def mail(
    *,
    sender: str = "maria@example.ru",
    subject: str = "Не работает VPN",
    text: str = "VPN не подключается с утра, ошибка 809.",
    message_id: str = "<m1@example.ru>",
    headers: dict[str, str] | None = None,
    attachment: bytes | None = None,
) -> bytes:
    message = EmailMessage()
    message["From"] = f"Мария Сидорова <{sender}>"
    message["To"] = DESK
    message["Subject"] = subject
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = message_id
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text)
    if attachment is not None:
        message.add_attachment(
            attachment, maintype="application", subtype="octet-stream", filename="big.bin"
        )
    return bytes(message)


async def append(dovecot: FakeDovecot, user: str, *raws: bytes) -> None:
    async with ImapClient(dovecot, user) as client:
        for raw in raws:
            await client.append(raw)


async def count(desk: Desk, model: type[Any], *where: ColumnElement[bool]) -> int:
    async with desk.okno.db.read() as session:
        found = await session.scalar(select(func.count()).select_from(model).where(*where))
        return int(found or 0)


async def processed(desk: Desk, n: int) -> None:
    """Wait until ``n`` inbox rows are routed."""

    async def done() -> bool:
        return await count(desk, InboundMessageRow, InboundMessageRow.state == "done") >= n

    await wait_until(done)


async def all_seen(dovecot: FakeDovecot, user: str, n: int) -> None:
    async def seen() -> bool:
        async with ImapClient(dovecot, user) as client:
            flags = await client.flags()
        return len(flags) == n and all("\\Seen" in f for f in flags)

    await wait_until(seen)


async def test_new_mail_becomes_a_ticket_and_an_acknowledgement_with_the_number(
    desk: Desk, dovecot: FakeDovecot, mail_user: str, smtp_server: FakeSmtp
) -> None:
    await append(dovecot, mail_user, mail())
    desk.start_imap()
    await processed(desk, 1)
    await all_seen(dovecot, mail_user, 1)
    assert await desk.dispatch() == 1
    [ack] = await smtp_server.wait_for(1)
    parsed = ack.message
    assert ack.recipients == ["maria@example.ru"]
    assert str(parsed["Subject"]).startswith("[#1]")
    assert parsed["In-Reply-To"] == "<m1@example.ru>"
    assert parsed["Auto-Submitted"] == "auto-replied"
    async with desk.okno.db.read() as session:
        ticket = (await session.scalars(select(TicketRow))).one()
        sent = (await session.scalars(select(OutboxRow))).one()
    assert ticket.subject == "Не работает VPN"
    assert sent.external_id == parsed["Message-ID"]


async def test_customer_reply_joins_the_ticket_and_agent_reply_threads(
    desk: Desk, dovecot: FakeDovecot, mail_user: str, smtp_server: FakeSmtp
) -> None:
    await append(dovecot, mail_user, mail())
    desk.start_imap()
    await processed(desk, 1)
    await desk.dispatch()
    [ack] = await smtp_server.wait_for(1)
    ack_id = ack.message["Message-ID"]
    reply = mail(
        subject=f"Re: {ack.message['Subject']}",
        text="Ошибка 809 осталась.\n\n> Ваша заявка принята",
        message_id="<m2@example.ru>",
        headers={"In-Reply-To": ack_id, "References": f"<m1@example.ru> {ack_id}"},
    )
    await append(dovecot, mail_user, reply)
    await processed(desk, 2)
    assert await count(desk, TicketRow) == 1
    async with desk.okno.db.read() as session:
        bodies = list(await session.scalars(select(CommentRow.body).order_by(CommentRow.id)))
    assert bodies[-1] == "Ошибка 809 осталась."
    async with desk.okno.db.transaction() as session:
        await desk.okno.tickets.add_agent_comment(
            session,
            1,
            author_name="anna",
            text="Переустановите клиент VPN.",
            public=True,
            now=utcnow(),
        )
    await desk.dispatch()
    received = await smtp_server.wait_for(2)
    answer = received[-1].message
    body = answer.get_body(("plain",))
    assert body is not None
    assert "Переустановите клиент VPN." in body.get_content()
    assert "[#1]" in str(answer["Subject"])
    assert answer["In-Reply-To"] == "<m1@example.ru>"
    assert "<m1@example.ru>" in answer["References"]
    assert answer["Message-ID"].endswith("@desk.example>")
    # Written by a person: out-of-office replies to it are welcome, and it is never capped.
    assert answer["Auto-Submitted"] is None
    assert answer["X-Auto-Response-Suppress"] is None


async def test_agent_replies_are_not_held_by_the_auto_reply_cap(
    settings: Settings, dovecot: FakeDovecot, mail_user: str, smtp_server: FakeSmtp
) -> None:
    config = email_settings(dovecot, mail_user, smtp_server, auto_replies_per_hour=1)
    async with running_desk(settings.model_copy(update={"email": config})) as desk:
        await append(dovecot, mail_user, mail())
        desk.start_imap()
        await processed(desk, 1)
        await desk.dispatch()
        [ack] = await smtp_server.wait_for(1)  # the hour's one automatic mail
        assert ack.message["Auto-Submitted"] == "auto-replied"
        for text in ("Переустановите клиент.", "Перезагрузите ноутбук."):
            async with desk.okno.db.transaction() as session:
                await desk.okno.tickets.add_agent_comment(
                    session, 1, author_name="anna", text=text, public=True, now=utcnow()
                )
        assert await desk.dispatch() == 2
        received = await smtp_server.wait_for(3)
        assert [r.message["Auto-Submitted"] for r in received[1:]] == [None, None]


async def test_out_of_office_reply_gets_no_acknowledgement(
    desk: Desk, dovecot: FakeDovecot, mail_user: str, smtp_server: FakeSmtp
) -> None:
    await append(dovecot, mail_user, mail())
    desk.start_imap()
    await processed(desk, 1)
    await desk.dispatch()
    [ack] = await smtp_server.wait_for(1)
    out_of_office = mail(
        subject=f"Автоответ: {ack.message['Subject']}",
        text="Я в отпуске до понедельника.",
        message_id="<oof@example.ru>",
        headers={"Auto-Submitted": "auto-replied", "In-Reply-To": ack.message["Message-ID"]},
    )
    await append(dovecot, mail_user, out_of_office)
    await processed(desk, 2)
    assert await desk.dispatch() == 0
    await asyncio.sleep(0.2)
    assert len(smtp_server.received) == 1, "an auto-reply must never be answered"


async def test_bounce_creates_no_ticket_and_marks_the_address(
    desk: Desk, dovecot: FakeDovecot, mail_user: str
) -> None:
    raw = (FIXTURES / "flanker-bounce-gmail-invalid-address.eml").read_bytes()
    await append(dovecot, mail_user, raw)
    desk.start_imap()
    await processed(desk, 1)
    assert await count(desk, TicketRow) == 0
    await wait_until(lambda: _nonzero(desk, UndeliverableRow))


async def _nonzero(desk: Desk, model: type) -> bool:
    return await count(desk, model) > 0


async def test_koi8r_mail_becomes_readable_russian(
    desk: Desk, dovecot: FakeDovecot, mail_user: str
) -> None:
    await append(dovecot, mail_user, (FIXTURES / "okno-koi8r-undeclared.eml").read_bytes())
    desk.start_imap()
    await processed(desk, 1)
    async with desk.okno.db.read() as session:
        ticket = (await session.scalars(select(TicketRow))).one()
        body = (await session.scalars(select(CommentRow.body))).one()
    assert ticket.subject == "Не печатает принтер"
    assert "Не печатает принтер HP в бухгалтерии" in body


async def test_same_message_appended_twice_makes_one_ticket(
    desk: Desk, dovecot: FakeDovecot, mail_user: str, smtp_server: FakeSmtp
) -> None:
    await append(dovecot, mail_user, mail(), mail())
    desk.start_imap()
    await all_seen(dovecot, mail_user, 2)
    await processed(desk, 1)
    assert await count(desk, TicketRow) == 1
    assert await desk.dispatch() == 1


async def test_oversized_mail_is_refused_politely_without_a_ticket(
    settings: Settings, dovecot: FakeDovecot, mail_user: str, smtp_server: FakeSmtp
) -> None:
    config = email_settings(dovecot, mail_user, smtp_server, max_message_bytes=20_000)
    async with running_desk(settings.model_copy(update={"email": config})) as desk:
        await append(dovecot, mail_user, mail(attachment=b"x" * 40_000))
        desk.start_imap()
        [refusal] = await smtp_server.wait_for(1)
        await all_seen(dovecot, mail_user, 1)
        assert await count(desk, TicketRow) == 0
        assert refusal.recipients == ["maria@example.ru"]
        assert refusal.message["Subject"] == "Re: Не работает VPN"
        assert refusal.message["In-Reply-To"] == "<m1@example.ru>"
        assert refusal.message["Auto-Submitted"] == "auto-replied"


async def test_unprocessable_mail_is_quarantined_and_does_not_block_the_next(
    desk: Desk, dovecot: FakeDovecot, mail_user: str
) -> None:
    broken = b"Subject: no sender at all\r\nMessage-ID: <q1@x>\r\n\r\nbody\r\n"
    await append(dovecot, mail_user, broken, mail())
    desk.start_imap()
    await processed(desk, 1)
    await all_seen(dovecot, mail_user, 2)
    assert await count(desk, QuarantineRow) == 1
    assert await count(desk, TicketRow) == 1


async def test_connection_cut_mid_fetch_loses_nothing_and_doubles_nothing(
    settings: Settings, dovecot: FakeDovecot, mail_user: str, smtp_server: FakeSmtp
) -> None:
    proxy = CuttingProxy(dovecot.host, dovecot.port)
    await proxy.start()
    big_text = "Длинное описание проблемы. " * 4000  # ~200 KB on the wire
    await append(dovecot, mail_user, mail(text=big_text), mail(message_id="<m9@example.ru>"))
    proxy.cut_after(60_000)  # inside the FETCH of the first message
    config = email_settings(dovecot, mail_user, smtp_server, imap_port=proxy.port)
    try:
        async with running_desk(settings.model_copy(update={"email": config})) as desk:
            desk.start_imap()
            await processed(desk, 2)
            await all_seen(dovecot, mail_user, 2)
            assert proxy.cuts == 1
            assert proxy.connections >= 2
            assert await count(desk, TicketRow) == 2
            assert await count(desk, InboundMessageRow) == 2
    finally:
        await proxy.stop()


async def folder_count(dovecot: FakeDovecot, user: str, mailbox: str) -> int:
    async with ImapClient(dovecot, user) as client:
        return len(await client.flags(mailbox))


async def test_polling_fallback_and_move_after_store(
    settings: Settings, dovecot: FakeDovecot, mail_user: str, smtp_server: FakeSmtp
) -> None:
    config = email_settings(dovecot, mail_user, smtp_server)
    config.imap.idle = False
    config.imap.after_store = AfterStore.MOVE
    async with running_desk(settings.model_copy(update={"email": config})) as desk:
        desk.start_imap()
        await asyncio.sleep(0.3)  # the loop is polling an empty box now
        await append(dovecot, mail_user, mail())
        await processed(desk, 1)

        async def moved() -> bool:
            return await folder_count(dovecot, mail_user, "Processed") == 1

        await wait_until(moved)
        assert await folder_count(dovecot, mail_user, "INBOX") == 0


async def test_delete_after_store_only_when_configured(
    settings: Settings, dovecot: FakeDovecot, mail_user: str, smtp_server: FakeSmtp
) -> None:
    config = email_settings(dovecot, mail_user, smtp_server)
    config.imap.after_store = AfterStore.DELETE
    async with running_desk(settings.model_copy(update={"email": config})) as desk:
        await append(dovecot, mail_user, mail())
        desk.start_imap()
        await processed(desk, 1)

        async def gone() -> bool:
            return await folder_count(dovecot, mail_user, "INBOX") == 0

        await wait_until(gone)


async def test_changed_uidvalidity_reads_unseen_mail_again(
    desk: Desk, dovecot: FakeDovecot, mail_user: str
) -> None:
    store = SqlEmailStore(desk.okno.db)
    await store.save_progress("INBOX", 1, 10_000)  # a UIDVALIDITY this box never had
    await append(dovecot, mail_user, mail())
    desk.start_imap()
    await processed(desk, 1)
    assert await count(desk, TicketRow) == 1
