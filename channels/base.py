"""The one vocabulary every channel adapter speaks: messages in, messages out, and errors.

Adapters translate their native input into an :class:`InboundMessage` and send an
:class:`OutboundMessage`; policy lives in router/, ticketing/, sla/ and notify/.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from aiohttp import web
from pydantic import ValidationError

from ticketing.domain import ChannelKind, IntakeResult, ReplyAddress

__all__ = [
    "Capability",
    "ChannelKind",
    "HttpInbound",
    "InboundAttachment",
    "InboundMessage",
    "IntakeSink",
    "OutboundChannel",
    "OutboundMessage",
    "PermanentSendError",
    "PollingInbound",
    "RateLimitedError",
    "ReplyAddress",
    "SendReceipt",
    "Sender",
    "StoredFile",
    "ThreadRefs",
    "TransientSendError",
    "field_errors",
]


def field_errors(error: ValidationError) -> dict[str, str]:
    """``{"sender.email": "value is not a valid email address"}``: the first message per field
    of a pydantic error, for the 4xx bodies of the HTTP endpoints."""
    fields: dict[str, str] = {}
    for item in error.errors(include_url=False):
        path = ".".join(str(part) for part in item["loc"]) or "body"
        fields.setdefault(path, item["msg"])
    return fields


@dataclass(frozen=True, slots=True, kw_only=True)
class Sender:
    """Who wrote, as the channel knows them. At least one address is set."""

    name: str = ""
    email: str | None = None
    phone: str | None = None
    telegram_id: int | None = None
    locale: str | None = None
    timezone: str | None = None

    def has_address(self) -> bool:
        return bool(self.email or self.phone or self.telegram_id is not None)


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredFile:
    """An attachment already written to the content-addressed store."""

    sha256: str
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True, slots=True, kw_only=True)
class InboundAttachment:
    """An attachment as received; the intake stores it before the message is acknowledged."""

    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class ThreadRefs:
    """Explicit references to an existing conversation, strongest first."""

    ticket_number: int | None = None
    message_ids: tuple[str, ...] = ()
    status_token: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class InboundMessage:
    """One normalised message from any channel.

    ``(channel, external_id)`` is unique: a redelivery of the same pair is the same message.
    ``auto_generated`` carries the adapter's finding that a machine wrote it (auto-reply, bounce,
    list mail); the router's loop guard decides what to do about it.
    """

    channel: ChannelKind
    external_id: str
    sender: Sender
    text: str
    subject: str = ""
    html: str | None = None
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    reply_to: ReplyAddress | None = None
    refs: ThreadRefs = field(default_factory=ThreadRefs)
    files: tuple[StoredFile, ...] = ()
    attachments: tuple[InboundAttachment, ...] = ()
    auto_generated: str | None = None
    service: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def to_payload(self) -> dict[str, Any]:
        """Serialise for the durable inbox; raw attachment bytes must already be in ``files``."""
        return {
            "channel": self.channel.value,
            "external_id": self.external_id,
            "sender": {
                "name": self.sender.name,
                "email": self.sender.email,
                "phone": self.sender.phone,
                "telegram_id": self.sender.telegram_id,
                "locale": self.sender.locale,
                "timezone": self.sender.timezone,
            },
            "text": self.text,
            "subject": self.subject,
            "html": self.html,
            "received_at": self.received_at.isoformat(),
            "reply_to": None
            if self.reply_to is None
            else {
                "channel": self.reply_to.channel.value,
                "address": self.reply_to.address,
                "thread_hint": self.reply_to.thread_hint,
            },
            "refs": {
                "ticket_number": self.refs.ticket_number,
                "message_ids": list(self.refs.message_ids),
                "status_token": self.refs.status_token,
            },
            "files": [
                {
                    "sha256": f.sha256,
                    "filename": f.filename,
                    "content_type": f.content_type,
                    "size": f.size,
                }
                for f in self.files
            ],
            "auto_generated": self.auto_generated,
            "service": self.service,
            "meta": self.meta,
        }

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> InboundMessage:
        """Rebuild a message stored by :meth:`to_payload`."""
        reply = data.get("reply_to")
        refs = data.get("refs") or {}
        return cls(
            channel=ChannelKind(data["channel"]),
            external_id=data["external_id"],
            sender=Sender(**data["sender"]),
            text=data["text"],
            subject=data.get("subject", ""),
            html=data.get("html"),
            received_at=datetime.fromisoformat(data["received_at"]),
            reply_to=None
            if reply is None
            else ReplyAddress(
                channel=ChannelKind(reply["channel"]),
                address=reply["address"],
                thread_hint=reply.get("thread_hint"),
            ),
            refs=ThreadRefs(
                ticket_number=refs.get("ticket_number"),
                message_ids=tuple(refs.get("message_ids", ())),
                status_token=refs.get("status_token"),
            ),
            files=tuple(StoredFile(**f) for f in data.get("files", ())),
            auto_generated=data.get("auto_generated"),
            service=data.get("service"),
            meta=dict(data.get("meta") or {}),
        )


class Capability(enum.Flag):
    """What an outbound channel can carry; rendering degrades for what is missing."""

    NONE = 0
    PUSH = enum.auto()
    HTML = enum.auto()
    SUBJECT = enum.auto()
    ATTACHMENTS = enum.auto()
    BUTTONS = enum.auto()
    THREADING = enum.auto()


@dataclass(frozen=True, slots=True, kw_only=True)
class Button:
    label: str
    data: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboundMessage:
    """One rendered message for one recipient, ready for a channel to send."""

    idempotency_key: str
    recipient: ReplyAddress
    text: str
    subject: str = ""
    html: str | None = None
    ticket_number: int | None = None
    automatic: bool = True
    buttons: tuple[Button, ...] = ()
    files: tuple[StoredFile, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class SendReceipt:
    """What the channel gave back: its own id for the sent message (for threading)."""

    external_id: str | None = None


class TransientSendError(Exception):
    """The send may succeed later (network, 429, 5xx); ``retry_after`` seconds if known."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimitedError(TransientSendError):
    """The channel asked us to wait ``retry_after`` seconds (Telegram's 429, or our own flood
    limiter): a deferral, not a failure, so it does not use up the outbox's attempts."""

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message, retry_after=retry_after)


class PermanentSendError(Exception):
    """The send will never succeed as is (blocked bot, unknown address, rejected content)."""


IntakeSink = Callable[[InboundMessage], Awaitable[IntakeResult]]


class OutboundChannel(Protocol):
    """Sends rendered messages through one channel."""

    kind: ChannelKind
    capabilities: Capability

    async def send(self, message: OutboundMessage) -> SendReceipt:
        """Send one message.

        Raises:
            TransientSendError: try again later.
            PermanentSendError: give up and tell the agents.
        """
        ...


class PollingInbound(Protocol):
    """An inbound channel that fetches from its source (IMAP, Telegram long polling)."""

    async def run(self, sink: IntakeSink) -> None:
        """Fetch forever, passing each message to ``sink`` and acknowledging it afterwards."""
        ...


class HttpInbound(Protocol):
    """An inbound channel that is called over HTTP (web form, phone, Telegram webhook)."""

    def routes(self, sink: IntakeSink) -> list[web.RouteDef]:
        """The aiohttp routes that accept this channel's input and pass it to ``sink``."""
        ...
