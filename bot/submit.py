"""A requester's message into the intake: thread hints, files, then ``Intake.accept``.

The bot adds what only it knows to the normalised message: a reply to one of its messages names
that ticket, and a message written while one of the requester's tickets waits for them continues
that ticket (the router still checks the writer is the ticket's requester). Album photos are
stored part by part and become one message in :mod:`bot.albums`.
"""

from __future__ import annotations

import dataclasses
import logging

from aiogram.types import Message

from bot.albums import store_album_part
from bot.context import BotDeps
from channels.base import StoredFile
from channels.telegram.normalize import FileRef, normalize_message, with_files
from ticketing import telegram_store
from ticketing.domain import IdentityKind, IntakeResult, Status
from ticketing.repository import TicketFilter, TicketRepository

log = logging.getLogger(__name__)


async def submit(deps: BotDeps, message: Message) -> IntakeResult | None:
    """Store the message (or album part) durably; None when there was nothing to file."""
    normalized = normalize_message(message, timezone=deps.timezone)
    if normalized is None:
        return None
    reply = message.reply_to_message
    number = await thread_hint(
        deps, message.chat.id, message.from_user.id if message.from_user else None, reply
    )
    if number is not None:
        refs = dataclasses.replace(normalized.message.refs, ticket_number=number)
        normalized = dataclasses.replace(
            normalized, message=dataclasses.replace(normalized.message, refs=refs)
        )
    downloaded, skipped = await download(deps, normalized.files)
    if normalized.media_group_id:
        stored = [await _store(deps, ref, data) for ref, data in downloaded]
        await store_album_part(deps, normalized, stored, skipped)
        deps.wake()
        return None
    result = await deps.accept(with_files(normalized, downloaded, skipped))
    if message.from_user is not None:
        await _reachable_again(deps, message.from_user.id)
    deps.wake()
    return result


async def _reachable_again(deps: BotDeps, user_id: int) -> None:
    """Someone who blocked the bot and now writes to it has unblocked it."""
    async with deps.db.read() as session:
        flagged = await telegram_store.is_unreachable(session, IdentityKind.TELEGRAM, str(user_id))
    if flagged:
        async with deps.db.transaction() as session:
            await telegram_store.set_unreachable(
                session, IdentityKind.TELEGRAM, str(user_id), unreachable=False
            )


async def thread_hint(
    deps: BotDeps, chat_id: int, user_id: int | None, reply: Message | None
) -> int | None:
    """The ticket a reply to our message is about, else the requester's waiting ticket."""
    async with deps.db.read() as session:
        if reply is not None:
            number = await telegram_store.ticket_by_message(session, chat_id, reply.message_id)
            if number is not None:
                return number
        if user_id is None:
            return None
        repo = TicketRepository(session)
        contact = await repo.contact_by_identity(IdentityKind.TELEGRAM, str(user_id))
        if contact is None:
            return None
        waiting = await repo.list(
            TicketFilter(requester_id=contact.id, status=(Status.WAITING,), limit=1)
        )
        return waiting[0].number if waiting else None


async def download(
    deps: BotDeps, refs: tuple[FileRef, ...]
) -> tuple[list[tuple[FileRef, bytes]], list[FileRef]]:
    """Fetch the files Telegram holds; those over the size limit (or the count) are skipped."""
    limit = deps.files.max_bytes
    downloaded: list[tuple[FileRef, bytes]] = []
    skipped: list[FileRef] = []
    for index, ref in enumerate(refs):
        if index >= deps.max_attachments or (ref.size is not None and ref.size > limit):
            skipped.append(ref)
            continue
        data = await deps.sender.download(ref.file_id, max_bytes=limit)
        if data is None:
            skipped.append(ref)
        else:
            downloaded.append((ref, data))
    return downloaded, skipped


async def _store(deps: BotDeps, ref: FileRef, data: bytes) -> StoredFile:
    digest = await deps.files.put(ref.filename, data)
    return StoredFile(
        sha256=digest, filename=ref.filename, content_type=ref.content_type, size=len(data)
    )
