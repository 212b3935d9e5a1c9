"""What the bot adds around a notification sent to a requester's private chat.

- A resolution asks «Проблема решена?» with [Да] [Нет, возобновить] buttons bound to the
  requester (they lead to the rating, or reopen the ticket).
- A public reply carries the files the agent attached.
- Every message sent about a ticket is remembered, so replying to it continues that ticket.
- A user who blocked the bot is marked unreachable and the agents' group is told.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

from bot.context import BotDeps
from bot.desk_sink import queue_job
from bot.texts import locale_or, t
from channels.base import Button, OutboundMessage, StoredFile
from ticketing import telegram_store
from ticketing.domain import IdentityKind
from ticketing.repository import TicketRepository
from ticketing.telegram_store import DeskJob

log = logging.getLogger(__name__)


class RequesterHooks:
    """:class:`channels.telegram.adapter.OutboundHooks` for requester notifications."""

    def __init__(self, deps: BotDeps) -> None:
        self._deps = deps

    async def prepare(self, message: OutboundMessage) -> OutboundMessage:
        template = message.meta.get("template")
        number = message.ticket_number
        if number is None:
            return message
        if template == "resolved":
            return await self._ask_decision(message, number)
        if template == "public_reply" and not message.files:
            return dataclasses.replace(message, files=await self._reply_files(message))
        return message

    async def _ask_decision(self, message: OutboundMessage, number: int) -> OutboundMessage:
        user = int(message.recipient.address)
        async with self._deps.db.read() as session:
            contact = await TicketRepository(session).contact_by_identity(
                IdentityKind.TELEGRAM, str(user)
            )
        locale = locale_or(contact.locale if contact else None, self._deps.default_locale)
        signer = self._deps.signer
        buttons = (
            Button(label=t(locale, "decision.yes"), data=signer.pack(user, "ok", number)),
            Button(label=t(locale, "decision.no"), data=signer.pack(user, "no", number)),
            # The page link stays; the rating link gives way to the rating buttons.
            *(b for b in message.buttons if "#rate" not in b.data),
        )
        html = (message.html or "") + "\n\n" + t(locale, "decision.question")
        return dataclasses.replace(message, html=html, buttons=buttons)

    async def _reply_files(self, message: OutboundMessage) -> tuple[StoredFile, ...]:
        # The outbox row of a public reply is keyed "public_reply:<comment id>".
        comment = message.idempotency_key.removeprefix("public_reply:")
        if not comment.isdigit():
            return ()
        async with self._deps.db.read() as session:
            detail = await TicketRepository(session).detail(
                message.ticket_number or 0, public_only=True
            )
        if detail is None:
            return ()
        found = next((c for c in detail.comments if c.id == int(comment)), None)
        if found is None:
            return ()
        return tuple(
            StoredFile(
                sha256=a.sha256, filename=a.filename, content_type=a.content_type, size=a.size
            )
            for a in found.attachments
        )

    async def sent(self, message: OutboundMessage, message_ids: Sequence[int]) -> None:
        """Remember which Telegram messages carried ``message`` (replies to them thread).

        The first is the send's receipt, kept by the outbox row itself; only the parts and
        files after it need a row here (one write less for the usual one-part message).
        """
        message_ids = message_ids[1:]
        if message.ticket_number is None or not message_ids:
            return
        async with self._deps.db.transaction() as session:
            await telegram_store.remember_messages(
                session,
                chat_id=int(message.recipient.address),
                message_ids=list(message_ids),
                ticket_id=message.ticket_number,
                kind="notice",
                now=self._deps.now(),
            )

    async def blocked(self, message: OutboundMessage) -> None:
        chat = message.recipient.address
        log.warning("the requester blocked the bot", extra={"chat": chat})
        now = self._deps.now()
        async with self._deps.db.transaction() as session:
            await telegram_store.set_unreachable(
                session, IdentityKind.TELEGRAM, chat, unreachable=True
            )
            if message.ticket_number is not None:
                job = DeskJob(
                    key=f"unreachable:{message.idempotency_key}",
                    ticket_id=message.ticket_number,
                    kind="unreachable",
                    data={},
                )
                await queue_job(session, job, now)
        self._deps.wake()

    async def read_file(self, file: StoredFile) -> bytes:
        return await self._deps.files.read(file.sha256)
