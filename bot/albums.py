"""Albums: photos sent together arrive as separate updates and become one message.

Each part is stored (its files in the file store, the part in ``telegram_album_part``) before its
update is acknowledged, so nothing depends on this process staying up. Once no part has arrived
for ``album_wait_seconds``, :func:`flush_due_albums` turns the waiting parts into one inbound
message — idempotent on ``<chat>:album:<group>``, so a crash between accepting and marking the
parts only repeats a deduplicated accept. A part arriving after its album went joins the same
ticket as a follow-up (its refs name the album).
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import timedelta

from bot.context import BotDeps
from channels.base import InboundMessage, StoredFile, ThreadRefs
from channels.telegram.normalize import FileRef, Normalized
from ticketing import telegram_store

log = logging.getLogger(__name__)


async def store_album_part(
    deps: BotDeps, normalized: Normalized, files: list[StoredFile], skipped: list[FileRef]
) -> None:
    """Keep one part until its album is complete (a redelivered part is ignored)."""
    message = normalized.message
    if skipped:
        names = ", ".join(ref.filename for ref in skipped)
        message = dataclasses.replace(
            message, text=f"{message.text}\n[not attached, too large: {names}]".strip()
        )
    message = dataclasses.replace(message, files=tuple(files))
    meta = message.meta
    async with deps.db.transaction() as session:
        await telegram_store.add_album_part(
            session,
            chat_id=int(str(meta["chat_id"])),
            media_group_id=str(normalized.media_group_id),
            message_id=int(str(meta["message_id"])),
            payload=message.to_payload(),
            now=deps.now(),
        )


async def flush_due_albums(deps: BotDeps) -> int:
    """Accept every album that has been quiet long enough; returns how many went."""
    quiet_since = deps.now() - timedelta(seconds=deps.settings.album_wait_seconds)
    async with deps.db.read() as session:
        due = await telegram_store.due_albums(session, quiet_since)
    for chat_id, group in due:
        try:
            await _flush(deps, chat_id, group)
        except Exception:
            # Kept for the next round: the parts stay waiting until their accept succeeds.
            log.exception("album flush failed", extra={"chat": chat_id, "album": group})
    if due:
        deps.wake()
    return len(due)


async def _flush(deps: BotDeps, chat_id: int, group: str) -> None:
    async with deps.db.read() as session:
        parts, earlier = await telegram_store.album_parts(session, chat_id, group)
    if not parts:
        return
    messages = [InboundMessage.from_payload(payload) for _, _, payload in parts]
    first = messages[0]
    album = f"{chat_id}:album:{group}"
    external_id = album if not earlier else f"{album}:{parts[0][1]}"
    refs = first.refs
    if earlier:
        refs = ThreadRefs(ticket_number=refs.ticket_number, message_ids=(*refs.message_ids, album))
    combined = dataclasses.replace(
        first,
        external_id=external_id,
        text="\n".join(m.text for m in messages if m.text),
        files=tuple(f for m in messages for f in m.files),
        refs=refs,
        meta={**first.meta, "parts": [p[1] for p in parts]},
    )
    await deps.accept(combined)
    async with deps.db.transaction() as session:
        await telegram_store.mark_album_flushed(session, [p[0] for p in parts])
