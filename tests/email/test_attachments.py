"""An agent's files reach an e-mail requester as MIME attachments, within the size budget."""

from __future__ import annotations

import pytest

from okno.settings import Settings
from tests.email.conftest import Desk, email_settings, running_desk
from tests.email.test_scenarios import append, mail, processed
from tests.fakes.dovecot import FakeDovecot
from tests.fakes.smtp import FakeSmtp, ReceivedMail
from ticketing.domain import Attachment
from ticketing.files import FileStore
from ticketing.models import utcnow

PDF = b"%PDF-1.4 instruction\n" + bytes(range(256)) * 40
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00screen" * 500


async def stored(desk: Desk, filename: str, content_type: str, content: bytes) -> Attachment:
    """Put a file into the desk's attachment store, as the Telegram desk does with a photo."""
    storage = desk.okno.settings.storage
    files = FileStore(storage.attachments_dir, max_bytes=storage.max_attachment_bytes)
    digest = await files.put(filename, content)
    return Attachment(
        sha256=digest, filename=filename, content_type=content_type, size=len(content)
    )


async def agent_reply_with(
    desk: Desk, dovecot: FakeDovecot, user: str, smtp: FakeSmtp, files: list[Attachment]
) -> ReceivedMail:
    await append(dovecot, user, mail())
    desk.start_imap()
    await processed(desk, 1)
    async with desk.okno.db.transaction() as session:
        await desk.okno.tickets.add_agent_comment(
            session,
            1,
            author_name="anna",
            text="Инструкция и снимок экрана во вложении.",
            public=True,
            now=utcnow(),
            attachments=files,
        )
    await desk.dispatch()
    received = await smtp.wait_for(2)  # the acknowledgement and the reply, in either order
    [answer] = [r for r in received if r.message["Auto-Submitted"] is None]
    return answer


def parts(received: ReceivedMail) -> dict[str, tuple[str, bytes]]:
    found: dict[str, tuple[str, bytes]] = {}
    for part in received.message.iter_attachments():
        content = part.get_content()
        assert isinstance(content, bytes)
        found[str(part.get_filename())] = (part.get_content_type(), content)
    return found


def plain(received: ReceivedMail) -> str:
    body = received.message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert isinstance(text, str)
    return text


async def test_agent_files_are_attached_to_the_reply_mail(
    desk: Desk, dovecot: FakeDovecot, mail_user: str, smtp_server: FakeSmtp
) -> None:
    files = [
        await stored(desk, "инструкция.pdf", "application/pdf", PDF),
        await stored(desk, "screen.png", "image/png", PNG),
    ]
    answer = await agent_reply_with(desk, dovecot, mail_user, smtp_server, files)
    assert parts(answer) == {
        "инструкция.pdf": ("application/pdf", PDF),
        "screen.png": ("image/png", PNG),
    }
    assert "Инструкция и снимок экрана во вложении." in plain(answer)
    assert "не вложены" not in plain(answer)
    assert answer.message.get_body(("html",)) is not None


@pytest.fixture
def small_budget(mail_settings: Settings) -> Settings:
    email = mail_settings.email.model_copy(
        update={"max_outgoing_attachment_bytes": len(PNG) + 100}
    )
    return mail_settings.model_copy(update={"email": email})


async def test_files_over_the_budget_are_linked_instead_of_attached(
    small_budget: Settings, dovecot: FakeDovecot, mail_user: str, smtp_server: FakeSmtp
) -> None:
    async with running_desk(small_budget) as desk:
        files = [
            await stored(desk, "инструкция.pdf", "application/pdf", PDF),
            await stored(desk, "screen.png", "image/png", PNG),
        ]
        answer = await agent_reply_with(desk, dovecot, mail_user, smtp_server, files)
        status_url = desk.okno.status_url_for(1)
    assert parts(answer) == {"screen.png": ("image/png", PNG)}
    text = plain(answer)
    assert "Files not attached (too large): инструкция.pdf." in text
    assert text.rstrip().endswith(status_url)
    html = answer.message.get_body(("html",))
    assert html is not None
    assert f'<a href="{status_url}">' in html.get_content()


async def test_acknowledgements_carry_no_files(
    settings: Settings, dovecot: FakeDovecot, mail_user: str, smtp_server: FakeSmtp
) -> None:
    config = email_settings(dovecot, mail_user, smtp_server)
    async with running_desk(settings.model_copy(update={"email": config})) as desk:
        await append(dovecot, mail_user, mail(attachment=PDF))
        desk.start_imap()
        await processed(desk, 1)
        await desk.dispatch()
        [ack] = await smtp_server.wait_for(1)
    assert parts(ack) == {}
