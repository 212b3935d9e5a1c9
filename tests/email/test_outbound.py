"""EmailOutbound against aiosmtpd; `okno check` and `okno replay` for the e-mail channel."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from channels.base import (
    ChannelKind,
    OutboundMessage,
    PermanentSendError,
    ReplyAddress,
    TransientSendError,
)
from channels.email.outbound import EmailOutbound
from channels.email.render import make_message_id
from channels.email.settings import EmailSettings, Security, SmtpSettings
from okno.commands import check, replay, replay_mail
from okno.settings import Settings
from tests.email.conftest import DESK, email_settings, running_desk
from tests.email.test_scenarios import mail, processed
from tests.fakes.dovecot import FakeDovecot, free_port, wait_until
from tests.fakes.smtp import FakeSmtp, self_signed
from ticketing.db import Database
from ticketing.email_store import SqlEmailStore
from ticketing.models import TicketRow
from ticketing.rows_email import QuarantineRow

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[SqlEmailStore]:
    db = Database(settings.database)
    yield SqlEmailStore(db)
    await db.dispose()


def outbound(smtp: FakeSmtp | None, store: SqlEmailStore, **more: object) -> EmailOutbound:
    port = smtp.port if smtp is not None else free_port()
    settings = EmailSettings(
        enabled=True,
        address=DESK,
        smtp=SmtpSettings(host="127.0.0.1", port=port, security=Security.NONE, timeout_seconds=3),
        **more,
    )
    return EmailOutbound(settings, store=store, now=lambda: NOW)


def reply(
    key: str, *, address: str = "maria@example.ru", automatic: bool = True
) -> OutboundMessage:
    return OutboundMessage(
        idempotency_key=key,
        recipient=ReplyAddress(channel=ChannelKind.EMAIL, address=address, thread_hint="<m@x.ru>"),
        text="Заявка принята.",
        subject="[#3] Заявка принята",
        ticket_number=3,
        automatic=automatic,
    )


async def test_send_returns_our_message_id_and_delivers(
    smtp_server: FakeSmtp, store: SqlEmailStore
) -> None:
    channel = outbound(smtp_server, store)
    receipt = await channel.send(reply("acknowledgement:3"))
    await channel.close()
    [received] = await smtp_server.wait_for(1)
    assert receipt.external_id == make_message_id("acknowledgement:3", "desk.example")
    assert received.message["Message-ID"] == receipt.external_id
    assert received.sender == DESK


async def test_auto_replies_are_capped_per_address_but_retries_are_free(
    smtp_server: FakeSmtp, store: SqlEmailStore
) -> None:
    channel = outbound(smtp_server, store, auto_replies_per_hour=2, auto_replies_per_day=3)
    await channel.send(reply("a:1"))
    await channel.send(reply("a:1"))  # the same outbox row again: not counted twice
    await channel.send(reply("a:2"))
    with pytest.raises(PermanentSendError, match="auto-reply cap"):
        await channel.send(reply("a:3"))
    await channel.send(reply("a:4", automatic=False))  # a person's reply is never capped
    await channel.send(reply("b:1", address="other@example.ru"))
    await channel.close()
    assert len(await smtp_server.wait_for(5)) == 5


async def test_caps_hold_when_many_automatic_mails_to_one_address_are_sent_at_once(
    smtp_server: FakeSmtp, store: SqlEmailStore
) -> None:
    channel = outbound(smtp_server, store, auto_replies_per_hour=3, auto_replies_per_day=10)
    sends = [channel.send(reply(f"burst:{n}")) for n in range(7)]
    sends.append(channel.send(reply("burst:person", automatic=False)))
    outcomes = await asyncio.gather(*sends, return_exceptions=True)
    await channel.close()
    refused = [o for o in outcomes if isinstance(o, PermanentSendError)]
    assert len(refused) == 4
    assert all("auto-reply cap" in str(error) for error in refused)
    assert len(await smtp_server.wait_for(4)) == 4


async def test_a_group_of_checks_counts_in_order_and_admits_a_repeated_key_free(
    store: SqlEmailStore,
) -> None:
    await store.mark_undeliverable("gone@example.ru", "bounce", NOW)
    answers = await store.admit_sends(
        [
            ("Maria@example.ru", "k:1", True),
            ("maria@example.ru", "k:1", True),  # the same row again: free
            ("maria@example.ru", "k:2", True),
            ("maria@example.ru", "k:3", True),  # past 2 per hour
            ("maria@example.ru", "k:4", False),  # a person's reply: never capped
            ("gone@example.ru", "k:5", False),
            ("gone@example.ru", "k:6", True),
        ],
        now=NOW,
        per_hour=2,
        per_day=5,
    )
    assert answers[:3] == [None, None, None]
    assert answers[3] is not None
    assert "auto-reply cap" in answers[3]
    assert answers[4] is None
    assert answers[5] is not None
    assert answers[6] is not None
    assert "undeliverable" in answers[5]
    assert "undeliverable" in answers[6]
    # What the group counted is what the next check sees, an hour later only the day cap.
    later = await store.admit_sends(
        [("maria@example.ru", "k:7", True), ("maria@example.ru", "k:2", True)],
        now=NOW + timedelta(minutes=61),
        per_hour=2,
        per_day=2,
    )
    assert later[0] is not None
    assert "auto-reply cap" in later[0]
    assert later[1] is None


async def test_undeliverable_address_is_refused_until_it_writes_again(
    smtp_server: FakeSmtp, store: SqlEmailStore
) -> None:
    await store.mark_undeliverable("maria@example.ru", "bounce", NOW)
    channel = outbound(smtp_server, store)
    with pytest.raises(PermanentSendError, match="undeliverable"):
        await channel.send(reply("x:1"))
    await store.clear_undeliverable("Maria@example.ru")
    await channel.send(reply("x:1"))
    await channel.close()


async def test_a_mark_made_by_another_process_is_cleared_after_the_cache_expires(
    settings: Settings, smtp_server: FakeSmtp, store: SqlEmailStore
) -> None:
    db = Database(settings.database)
    reader = SqlEmailStore(db, undeliverable_cache_seconds=0.2)
    try:
        await reader.clear_undeliverable("someone@example.ru")  # reads the (empty) list
        await store.mark_undeliverable("maria@example.ru", "bounce", NOW)
        await reader.clear_undeliverable("maria@example.ru")  # within the cache: not seen
        assert await store.is_undeliverable("maria@example.ru")
        await asyncio.sleep(0.3)
        await reader.clear_undeliverable("maria@example.ru")
        assert not await store.is_undeliverable("maria@example.ru")
        channel = outbound(smtp_server, store)
        await channel.send(reply("x:2"))
        await channel.close()
    finally:
        await db.dispose()


async def test_an_address_with_a_non_ascii_local_part_goes_out_with_smtputf8(
    smtp_server: FakeSmtp, store: SqlEmailStore
) -> None:
    channel = outbound(smtp_server, store)
    await channel.send(reply("utf8:1", address="jdöe@mächine.example"))
    await channel.close()
    [mail] = await smtp_server.wait_for(1)
    assert mail.recipients == ["jdöe@mächine.example"]
    assert mail.message["To"] == "jdöe@mächine.example"
    assert mail.message["Auto-Submitted"] == "auto-replied"


async def test_refused_recipient_is_permanent_and_a_dead_server_transient(
    smtp_server: FakeSmtp, store: SqlEmailStore
) -> None:
    smtp_server.handler.refuse_with = "550 5.1.1 no such user"
    channel = outbound(smtp_server, store)
    with pytest.raises(PermanentSendError):
        await channel.send(reply("r:1"))
    smtp_server.handler.refuse_with = "451 4.3.0 try later"
    with pytest.raises(TransientSendError):
        await channel.send(reply("r:2"))
    await channel.close()
    with pytest.raises(TransientSendError):
        await outbound(None, store).send(reply("r:3"))
    state = await store.connection_state("smtp")
    assert state is not None
    assert state.last_error


async def test_okno_check_logs_in_to_imap_and_smtp(
    settings: Settings, dovecot: FakeDovecot, mail_user: str, smtp_server: FakeSmtp
) -> None:
    good = settings.model_copy(update={"email": email_settings(dovecot, mail_user, smtp_server)})
    results = {name: (ok, detail) for name, ok, detail in await check(good)}
    assert results["database"][0], results["database"]  # one row per migration branch
    assert "0003_email" in results["database"][1]
    assert results["imap"][0], results["imap"]
    assert results["smtp"][0], results["smtp"]
    assert "last success" in results["imap"][1]
    wrong = email_settings(dovecot, mail_user, smtp_server)
    wrong.imap.password = SecretStr("wrong")
    bad = {n: (ok, d) for n, ok, d in await check(settings.model_copy(update={"email": wrong}))}
    assert not bad["imap"][0]
    assert "last success" in bad["imap"][1]


async def test_okno_replay_processes_quarantined_mail_again(
    settings: Settings,
    dovecot: FakeDovecot,
    mail_user: str,
    smtp_server: FakeSmtp,
    store: SqlEmailStore,
) -> None:
    quarantined = await store.quarantine(
        mailbox="INBOX",
        uid=7,
        message_id="<m1@example.ru>",
        raw=mail(),
        error="boom",
        now=NOW - timedelta(minutes=5),
    )
    assert await replay(settings, []) == 0, "without --mail the quarantine stays"
    assert await replay_mail(settings, []) == 1
    config = settings.model_copy(update={"email": email_settings(dovecot, mail_user, smtp_server)})
    async with running_desk(config) as desk:
        desk.start_imap()
        await processed(desk, 1)

        async def settled() -> bool:
            async with desk.okno.db.read() as session:
                row = await session.get(QuarantineRow, quarantined)
                return row is not None and row.state == "replayed"

        await wait_until(settled)
        async with desk.okno.db.read() as session:
            assert len(list(await session.scalars(select(TicketRow)))) == 1


@pytest.mark.parametrize("security", [Security.STARTTLS, Security.TLS])
async def test_tls_and_authentication(
    security: Security, store: SqlEmailStore, tmp_path: Path
) -> None:
    server = FakeSmtp(security=security.value, tls=self_signed(tmp_path), login=("desk", "s3cret"))
    server.start()
    try:
        smtp = SmtpSettings(
            host=server.host,
            port=server.port,
            security=security,
            verify_certificates=False,  # self-signed in the test
            username="desk",
            password=SecretStr("s3cret"),
            timeout_seconds=5,
        )
        settings = EmailSettings(enabled=True, address=DESK, smtp=smtp)
        channel = EmailOutbound(settings, store=store, now=lambda: NOW)
        await channel.send(reply(f"tls:{security.value}"))
        await channel.close()
        assert len(await server.wait_for(1)) == 1
        wrong = settings.model_copy(
            update={"smtp": smtp.model_copy(update={"password": SecretStr("nope")})}
        )
        with pytest.raises(TransientSendError):
            await EmailOutbound(wrong, store=store, now=lambda: NOW).send(reply("tls:wrong"))
    finally:
        server.stop()
