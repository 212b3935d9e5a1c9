"""`okno replay --mail`: quarantined mail handed back to the running imap role, one or all."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from click.testing import CliRunner, Result
from sqlalchemy import select

from okno.__main__ import cli
from okno.settings import Settings
from tests.email.conftest import Desk, email_settings, running_desk
from tests.email.test_scenarios import append, count, mail, processed
from tests.fakes.dovecot import FakeDovecot, wait_until
from tests.fakes.smtp import FakeSmtp
from ticketing.email_store import SqlEmailStore
from ticketing.models import TicketRow, utcnow
from ticketing.rows_email import QuarantineRow

BROKEN = b"Subject: no sender at all\r\nMessage-ID: <q1@x>\r\n\r\nbody\r\n"


async def okno(settings: Settings, *args: str) -> Result:
    """Run the ``okno`` command line in-process (its own event loop, in a thread)."""
    env = {
        "OKNO_CONFIG": None,
        "OKNO_DATABASE_URL": settings.database_url,
        "OKNO_DATA_DIR": str(settings.data_dir),
    }
    runner = CliRunner()
    return await asyncio.to_thread(runner.invoke, cli, list(args), env=env)


async def states(desk: Desk) -> dict[int, tuple[str, int]]:
    async with desk.okno.db.read() as session:
        rows = await session.scalars(select(QuarantineRow).order_by(QuarantineRow.id))
        return {row.id: (row.state, row.attempts) for row in rows}


async def test_replay_mail_with_an_id_retries_that_mail_only(
    settings: Settings, dovecot: FakeDovecot, mail_user: str, smtp_server: FakeSmtp
) -> None:
    config = settings.model_copy(update={"email": email_settings(dovecot, mail_user, smtp_server)})
    async with running_desk(config) as desk:
        store = SqlEmailStore(desk.okno.db)
        earlier = utcnow() - timedelta(minutes=5)
        first, second = [
            await store.quarantine(
                mailbox="INBOX",
                uid=uid,
                message_id=f"<r{uid}@example.ru>",
                raw=mail(message_id=f"<r{uid}@example.ru>", subject=f"Письмо {uid}"),
                error="TimeoutError: the database was away",
                now=earlier,
            )
            for uid in (7, 8)
        ]
        listed = await okno(config, "replay", "--mail", "--list")
        assert listed.exit_code == 0, listed.output
        assert [line.split("\t")[0] for line in listed.output.splitlines()] == [
            str(first),
            str(second),
        ]
        assert "<r7@example.ru>" in listed.output
        plain = await okno(config, "replay")  # failed inbox rows only: the mail stays held
        assert plain.exit_code == 0, plain.output
        assert await states(desk) == {first: ("held", 1), second: ("held", 1)}

        result = await okno(config, "replay", "--mail", "--id", str(first))
        assert result.exit_code == 0, result.output
        assert "queued 1 quarantined mail(s)" in result.output
        desk.start_imap()
        await processed(desk, 1)

        async def replayed() -> bool:
            return (await states(desk))[first] == ("replayed", 2)

        await wait_until(replayed)
        assert (await states(desk))[second] == ("held", 1)
        assert await count(desk, TicketRow) == 1


async def test_replay_mail_keeps_mail_that_fails_again_with_its_error(
    desk: Desk, dovecot: FakeDovecot, mail_user: str, settings: Settings
) -> None:
    await append(dovecot, mail_user, BROKEN)
    desk.start_imap()

    async def quarantined() -> bool:
        return len(await states(desk)) == 1

    await wait_until(quarantined)
    [held] = await states(desk)
    result = await okno(desk.okno.settings, "replay", "--mail")
    assert result.exit_code == 0, result.output
    assert "queued 1 quarantined mail(s)" in result.output

    async def tried_again() -> bool:
        return (await states(desk))[held] == ("held", 2)

    await wait_until(tried_again)
    assert await count(desk, TicketRow) == 0


async def test_replay_mail_with_an_unknown_id_fails(desk: Desk) -> None:
    result = await okno(desk.okno.settings, "replay", "--mail", "--id", "999")
    assert result.exit_code != 0
    assert "1 of the given id(s) were not found" in result.output
    assert (await okno(desk.okno.settings, "replay", "--list")).exit_code != 0
