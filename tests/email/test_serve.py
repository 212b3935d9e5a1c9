"""`okno serve` as a child process, reading a Dovecot mailbox and answering through aiosmtpd."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from okno.settings import Settings
from tests.email.conftest import DESK
from tests.email.test_scenarios import append, mail
from tests.fakes.dovecot import PASSWORD, FakeDovecot, ImapClient, wait_until
from tests.fakes.service import Service, free_port
from tests.fakes.smtp import FakeSmtp
from ticketing.db import Database
from ticketing.models import TicketRow


# A cold `python -m okno serve` imports aiogram's thousand types: on a busy two-core machine
# that alone took 20-30 s, so readiness gets a generous limit (the test's own work is seconds).
@pytest.mark.timeout(240)
async def test_okno_serve_turns_mail_into_tickets_and_answers(
    settings: Settings, dovecot: FakeDovecot, mail_user: str, smtp_server: FakeSmtp, tmp_path: Path
) -> None:
    service = Service(settings, free_port(), tmp_path / "service.log")
    service.env.update(
        {
            "OKNO_EMAIL__ENABLED": "true",
            "OKNO_EMAIL__ADDRESS": DESK,
            "OKNO_EMAIL__IMAP__HOST": dovecot.host,
            "OKNO_EMAIL__IMAP__PORT": str(dovecot.port),
            "OKNO_EMAIL__IMAP__SECURITY": "none",
            "OKNO_EMAIL__IMAP__USERNAME": mail_user,
            "OKNO_EMAIL__IMAP__PASSWORD": PASSWORD,
            "OKNO_EMAIL__SMTP__HOST": smtp_server.host,
            "OKNO_EMAIL__SMTP__PORT": str(smtp_server.port),
            "OKNO_EMAIL__SMTP__SECURITY": "none",
        }
    )
    db = Database(settings.database)
    try:
        service.start()
        await service.wait_ready(within=120)
        await append(
            dovecot,
            mail_user,
            mail(),
            mail(),
            mail(
                message_id="<m2@example.ru>",
                subject="Принтер",
                text="Принтер в 305 кабинете печатает пустые листы.",
            ),
        )
        received = await smtp_server.wait_for(2, within=30)
        assert sorted(str(r.message["Subject"])[:4] for r in received) == ["[#1]", "[#2]"]

        async def all_seen() -> bool:
            async with ImapClient(dovecot, mail_user) as client:
                flags = await client.flags()
            return len(flags) == 3 and all("\\Seen" in f for f in flags)

        await wait_until(all_seen, within=30)
        assert service.process is not None
        service.process.send_signal(signal.SIGTERM)
        assert service.process.wait(timeout=30) == 0, service.log.read_text()
        async with db.read() as session:
            assert await session.scalar(select(func.count()).select_from(TicketRow)) == 2
        assert len(smtp_server.received) == 2
    finally:
        service.stop()
        await db.dispose()
