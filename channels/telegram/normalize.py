"""Telegram messages in okno's vocabulary: pure functions from aiogram objects to plain data.

Nothing here touches the network: files are described (:class:`FileRef`) and downloaded by the
caller, which then builds the :class:`InboundMessage` with :func:`with_files`.

A message's ``external_id`` is ``"<chat id>:<message id>"``: the same on every redelivery of its
update (so the durable inbox deduplicates it), and what a later edit or reply refers to.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from aiogram.types import (
    Message,
    MessageOriginChannel,
    MessageOriginChat,
    MessageOriginHiddenUser,
    MessageOriginUser,
    User,
)

from channels.base import (
    ChannelKind,
    InboundAttachment,
    InboundMessage,
    ReplyAddress,
    Sender,
    ThreadRefs,
)

__all__ = [
    "FileRef",
    "Normalized",
    "files_of",
    "locale_of",
    "message_ref",
    "normalize_message",
    "sender_of",
    "with_files",
]

SUPPORTED_LOCALES = ("ru", "en")


@dataclass(frozen=True, slots=True)
class FileRef:
    """A file Telegram holds for us; ``size`` is Telegram's figure when it gave one."""

    file_id: str
    filename: str
    content_type: str
    size: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Normalized:
    """A message ready for intake once its files are downloaded."""

    message: InboundMessage
    files: tuple[FileRef, ...] = ()
    media_group_id: str | None = None


def message_ref(chat_id: int, message_id: int) -> str:
    """The id okno knows a Telegram message by."""
    return f"{chat_id}:{message_id}"


def locale_of(user: User | None) -> str | None:
    """``ru``/``en`` from Telegram's ``language_code`` (``ru-RU`` → ``ru``), else None."""
    code = (user.language_code or "") if user else ""
    language = code.replace("_", "-").split("-", 1)[0].lower()
    return language if language in SUPPORTED_LOCALES else None


def sender_of(user: User, *, timezone: str | None) -> Sender:
    """The Telegram user as okno's :class:`Sender` (their verified Telegram id)."""
    return Sender(
        name=user.full_name.strip(),
        telegram_id=user.id,
        locale=locale_of(user),
        timezone=timezone,
    )


def files_of(message: Message) -> tuple[FileRef, ...]:
    """The message's files: the largest photo size, a document, voice, audio or video."""
    files: list[FileRef] = []
    number = message.message_id
    if message.photo:
        photo = max(message.photo, key=lambda p: (p.file_size or 0, p.width * p.height))
        files.append(FileRef(photo.file_id, f"photo-{number}.jpg", "image/jpeg", photo.file_size))
    if message.document:
        doc = message.document
        files.append(
            FileRef(
                doc.file_id,
                doc.file_name or f"document-{number}",
                doc.mime_type or "application/octet-stream",
                doc.file_size,
            )
        )
    if message.voice:
        voice = message.voice
        ctype = voice.mime_type or "audio/ogg"
        files.append(FileRef(voice.file_id, f"voice-{number}.ogg", ctype, voice.file_size))
    if message.audio:
        audio = message.audio
        name = audio.file_name or f"audio-{number}"
        ctype = audio.mime_type or "audio/mpeg"
        files.append(FileRef(audio.file_id, name, ctype, audio.file_size))
    if message.video:
        video = message.video
        name = video.file_name or f"video-{number}.mp4"
        ctype = video.mime_type or "video/mp4"
        files.append(FileRef(video.file_id, name, ctype, video.file_size))
    if message.video_note:
        note = message.video_note
        files.append(FileRef(note.file_id, f"video-{number}.mp4", "video/mp4", note.file_size))
    return tuple(files)


def _forwarded_from(message: Message) -> str | None:
    origin = message.forward_origin
    if isinstance(origin, MessageOriginUser):
        return origin.sender_user.full_name
    if isinstance(origin, MessageOriginHiddenUser):
        return origin.sender_user_name
    if isinstance(origin, MessageOriginChat):
        return origin.sender_chat.title or ""
    if isinstance(origin, MessageOriginChannel):
        return origin.chat.title or ""
    return None


def text_of(message: Message) -> str:
    """Text or caption, with a location spelled out; forwarded text says where it came from."""
    text = message.text or message.caption or ""
    if message.location is not None:
        point = f"geo:{message.location.latitude},{message.location.longitude}"
        text = f"{text}\n{point}".strip()
    origin = _forwarded_from(message)
    if origin is not None:
        text = f"[forwarded from {origin}]\n{text}".strip()
    return text


def normalize_message(message: Message, *, timezone: str | None) -> Normalized | None:
    """A private-chat message as intake input; None for what carries nothing to file.

    The reply address's thread hint is the message's id, so okno answers as a reply to the
    message that opened the ticket. A reply to an earlier message refers to it by its
    ``external_id`` (the router matches our sent messages and the requester's own).
    """
    user = message.from_user
    if user is None or user.is_bot:
        return None
    files = files_of(message)
    text = text_of(message)
    if not text and not files:
        return None
    chat_id = message.chat.id
    reply = message.reply_to_message
    meta: dict[str, object] = {"chat_id": chat_id, "message_id": message.message_id}
    if message.media_group_id:
        meta["media_group_id"] = message.media_group_id
    if message.forward_origin is not None:
        meta["forwarded"] = True
    inbound = InboundMessage(
        channel=ChannelKind.TELEGRAM,
        external_id=message_ref(chat_id, message.message_id),
        sender=sender_of(user, timezone=timezone),
        text=text,
        received_at=message.date,
        reply_to=ReplyAddress(
            channel=ChannelKind.TELEGRAM,
            address=str(chat_id),
            thread_hint=str(message.message_id),
        ),
        refs=ThreadRefs(
            message_ids=(message_ref(chat_id, reply.message_id),) if reply is not None else ()
        ),
        meta=meta,
    )
    return Normalized(message=inbound, files=files, media_group_id=message.media_group_id)


def with_files(
    normalized: Normalized, downloaded: list[tuple[FileRef, bytes]], skipped: list[FileRef]
) -> InboundMessage:
    """The inbound message with its downloaded files; files too large are named in the text."""
    message = normalized.message
    text = message.text
    if skipped:
        names = ", ".join(ref.filename for ref in skipped)
        text = f"{text}\n[not attached, too large: {names}]".strip()
    return dataclasses.replace(
        message,
        text=text,
        attachments=tuple(
            InboundAttachment(filename=ref.filename, content_type=ref.content_type, content=data)
            for ref, data in downloaded
        ),
    )
