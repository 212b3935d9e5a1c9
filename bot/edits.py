"""An edited message: the comment it became shows the new text; the old text stays in history."""

from __future__ import annotations

import logging

from aiogram.types import Message

from bot.context import BotDeps
from channels.telegram.normalize import message_ref, text_of
from ticketing import telegram_store
from ticketing.domain import ChannelKind

log = logging.getLogger(__name__)


async def record_edit(deps: BotDeps, message: Message, update_id: int) -> bool:
    """Apply an edit of a requester's message; False when it was never filed (a command, a
    message still being routed) or the text did not change.

    The update id is recorded in the same transaction, so a redelivery changes nothing.
    """
    user = message.from_user
    if user is None:
        return False
    ref = message_ref(message.chat.id, message.message_id)
    async with deps.db.read() as session:
        found = await telegram_store.comment_of_inbound(session, ChannelKind.TELEGRAM.value, ref)
    if found is None:
        log.info("edit of a message okno did not file", extra={"message": ref})
        return False
    ticket, comment = found
    async with deps.db.transaction() as session:
        if not await telegram_store.claim_update(session, update_id, deps.now()):
            return False
        return await deps.tickets.record_edit(
            session,
            ticket,
            comment_id=comment,
            text=text_of(message),
            actor=user.full_name or "requester",
            now=deps.now(),
        )
