"""Builds the email channel from its settings and attaches it to a running okno.

`okno/app.py` calls :func:`attach` once per process: it registers the outbound channel (SMTP),
and names the background work of the ``imap`` role (reading the mailbox). The channel's state
lives in the ticket database through :class:`ticketing.email_store.SqlEmailStore`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from channels.base import StoredFile
from channels.email.inbound import EmailInbound
from channels.email.outbound import EmailOutbound
from ticketing.email_store import SqlEmailStore
from ticketing.files import FileStore

if TYPE_CHECKING:
    from okno.app import Okno

ROLE = "imap"


@contextlib.asynccontextmanager
async def attach(okno: Okno) -> AsyncIterator[None]:
    """Wire the channel into ``okno`` (nothing when disabled); release it on exit."""
    if not okno.settings.email.enabled:
        yield
        return
    settings = okno.settings.email
    storage = okno.settings.storage
    store = SqlEmailStore(okno.db)
    files = FileStore(storage.attachments_dir, max_bytes=storage.max_attachment_bytes)

    async def load(stored: StoredFile) -> bytes:
        return await files.read(stored.sha256)

    outbound = EmailOutbound(settings, store=store, now=okno.now, load_file=load)
    okno.registry.register(outbound)
    inbound = EmailInbound(
        settings,
        store=store,
        now=okno.now,
        max_attachment_bytes=storage.max_attachment_bytes,
        reject=outbound.send,
    )

    async def read_mailbox(stop: asyncio.Event) -> None:
        await inbound.run(okno.intake.accept, stop)

    okno.runners[ROLE] = read_mailbox
    try:
        yield
    finally:
        await outbound.close()
