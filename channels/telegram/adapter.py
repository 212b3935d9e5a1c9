"""The Telegram outbound channel: notifications from the outbox to a requester's private chat.

The adapter only translates an :class:`OutboundMessage` into Bot API calls. What the bot adds
to a message (answer buttons, a ticket's files), what it remembers about sent messages and what
happens when a user blocked the bot are the business of :class:`OutboundHooks`, which the
composition root supplies from ``bot/``.
"""

from __future__ import annotations

import html
from collections import OrderedDict
from collections.abc import Sequence
from typing import Protocol

from channels.base import (
    Capability,
    ChannelKind,
    OutboundMessage,
    PermanentSendError,
    SendReceipt,
    StoredFile,
)
from channels.telegram.normalize import message_ref
from channels.telegram.render import keyboard
from channels.telegram.sender import BotBlockedError, TelegramSender

__all__ = ["NoHooks", "OutboundHooks", "TelegramOutbound"]

_PROGRESS_KEPT = 1000


class OutboundHooks(Protocol):
    """What the bot side adds around a send."""

    async def prepare(self, message: OutboundMessage) -> OutboundMessage:
        """Return the message to send (e.g. with answer buttons or the ticket's files)."""
        ...

    async def sent(self, message: OutboundMessage, message_ids: Sequence[int]) -> None:
        """Remember which Telegram messages carried ``message`` (replies to them thread)."""
        ...

    async def blocked(self, message: OutboundMessage) -> None:
        """The recipient blocked the bot: mark them unreachable and tell the agents."""
        ...

    async def read_file(self, file: StoredFile) -> bytes:
        """The content of a stored attachment."""
        ...


class NoHooks:
    """Hooks that add nothing (tests, tools)."""

    async def prepare(self, message: OutboundMessage) -> OutboundMessage:
        return message

    async def sent(self, message: OutboundMessage, message_ids: Sequence[int]) -> None:
        return None

    async def blocked(self, message: OutboundMessage) -> None:
        return None

    async def read_file(self, file: StoredFile) -> bytes:
        raise PermanentSendError(f"no file store to read {file.filename}")


class TelegramOutbound:
    """Sends outbox messages to Telegram chats (``recipient.address`` is the chat id).

    The text goes as HTML in parts of at most 4096 characters, the buttons with the last part,
    then each file. A retry after a partial failure skips the parts this process already
    delivered, so a flaky network does not repeat them.
    """

    kind = ChannelKind.TELEGRAM
    capabilities = Capability.PUSH | Capability.HTML | Capability.ATTACHMENTS | Capability.BUTTONS

    def __init__(self, sender: TelegramSender, hooks: OutboundHooks | None = None) -> None:
        self._sender = sender
        self._hooks: OutboundHooks = hooks if hooks is not None else NoHooks()
        self._progress: OrderedDict[str, _Progress] = OrderedDict()

    async def send(self, message: OutboundMessage) -> SendReceipt:
        """Send one message; the receipt names its first Telegram message (``chat:id``).

        Raises:
            TransientSendError: 429, network trouble, a long limiter wait: try again later.
            PermanentSendError: blocked bot, unknown chat, rejected content.
        """
        try:
            chat_id = int(message.recipient.address)
        except ValueError as exc:
            raise PermanentSendError(f"not a chat id: {message.recipient.address!r}") from exc
        message = await self._hooks.prepare(message)
        progress = self._progress.setdefault(message.idempotency_key, _Progress())
        try:
            await self._deliver(chat_id, message, progress)
        except BotBlockedError:
            self._progress.pop(message.idempotency_key, None)
            await self._hooks.blocked(message)
            raise
        self._progress.pop(message.idempotency_key, None)
        while len(self._progress) > _PROGRESS_KEPT:
            self._progress.popitem(last=False)
        await self._hooks.sent(message, progress.ids)
        return SendReceipt(external_id=message_ref(chat_id, progress.ids[0]))

    async def _deliver(self, chat_id: int, message: OutboundMessage, progress: _Progress) -> None:
        if progress.steps == 0:
            hint = message.recipient.thread_hint
            ids = await self._sender.send_text(
                chat_id,
                message.html or html.escape(message.text),
                markup=keyboard(message.buttons),
                reply_to=int(hint) if hint and hint.isdigit() else None,
            )
            progress.done(ids)
        for file in message.files[progress.steps - 1 :]:
            content = await self._hooks.read_file(file)
            message_id = await self._sender.send_file(
                chat_id, filename=file.filename, content_type=file.content_type, content=content
            )
            progress.done([message_id])


class _Progress:
    """What of one message is delivered: the text (all its parts) is step 1, each file one."""

    __slots__ = ("ids", "steps")

    def __init__(self) -> None:
        self.steps = 0
        self.ids: list[int] = []

    def done(self, message_ids: Sequence[int]) -> None:
        self.steps += 1
        self.ids.extend(message_ids)
