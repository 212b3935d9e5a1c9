"""The domain vocabulary shared by every package: plain, frozen dataclasses.

This module imports only the standard library (an import-linter contract enforces it), so
channels, the router, SLA and notify can all speak about tickets without touching the ORM.
All datetimes are timezone-aware UTC.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class ChannelKind(enum.StrEnum):
    """Where a message came from or goes to."""

    TELEGRAM = "telegram"
    EMAIL = "email"
    WEBFORM = "webform"
    PHONE = "phone"
    API = "api"


class IdentityKind(enum.StrEnum):
    """The kinds of address a contact can be recognised by."""

    TELEGRAM = "telegram"
    EMAIL = "email"
    PHONE = "phone"


class TicketType(enum.StrEnum):
    INCIDENT = "incident"
    SERVICE_REQUEST = "service_request"
    QUESTION = "question"


class Priority(enum.StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class Status(enum.StrEnum):
    NEW = "new"
    IN_PROGRESS = "in_progress"
    WAITING = "waiting"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    CLOSED = "closed"


OPEN_STATUSES: frozenset[Status] = frozenset(
    {Status.NEW, Status.IN_PROGRESS, Status.WAITING, Status.REOPENED}
)


class AuthorKind(enum.StrEnum):
    REQUESTER = "requester"
    AGENT = "agent"
    SYSTEM = "system"


class IntakeOutcome(enum.StrEnum):
    """What the router did with one inbound message."""

    CREATED = "created"
    APPENDED = "appended"
    IGNORED = "ignored"
    QUEUED = "queued"  # stored; routing finishes in the background


@dataclass(frozen=True, slots=True, kw_only=True)
class Identity:
    kind: IdentityKind
    value: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Contact:
    id: int
    name: str
    locale: str
    timezone: str
    identities: tuple[Identity, ...] = ()
    company: str | None = None
    department: str | None = None
    vip: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplyAddress:
    """How to answer a requester "through the channel they came from".

    ``thread_hint`` is channel-specific (an e-mail Message-ID, a Telegram message id) and opaque
    to everything outside that channel.
    """

    channel: ChannelKind
    address: str
    thread_hint: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Attachment:
    sha256: str
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Comment:
    id: int
    ticket_id: int
    author_kind: AuthorKind
    author_name: str
    public: bool
    body: str
    channel: ChannelKind | None
    created_at: datetime
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketEvent:
    id: int
    ticket_id: int
    kind: str
    data: dict[str, Any]
    actor: str
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Ticket:
    id: int
    number: int
    subject: str
    type: TicketType
    priority: Priority
    status: Status
    requester: Contact
    origin_channel: ChannelKind
    reply_to: ReplyAddress | None
    created_at: datetime
    updated_at: datetime
    service: str | None = None
    category: str | None = None
    tags: tuple[str, ...] = ()
    impact: int = 3
    urgency: int = 3
    team: str | None = None
    assignee: str | None = None
    classified: bool = False
    reaction_due_at: datetime | None = None
    resolution_due_at: datetime | None = None
    first_reaction_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    rating: int | None = None
    rating_comment: str | None = None
    duplicate_of: int | None = None
    parent_number: int | None = None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketDetail:
    """A ticket with its history, as the API and the status page show it."""

    ticket: Ticket
    comments: tuple[Comment, ...] = ()
    events: tuple[TicketEvent, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True, kw_only=True)
class IntakeResult:
    """The answer a source gets for one message; the same on every redelivery."""

    outcome: IntakeOutcome
    ticket_number: int | None
    reason: str | None = None
    status_token: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxEntry:
    """A notification to send, written in the same transaction as the change that caused it.

    ``payload`` holds everything the template needs (numbers, texts, links), so rendering at
    dispatch time never reads the ticket again.
    """

    idempotency_key: str
    ticket_id: int | None
    recipient: ReplyAddress
    template: str
    locale: str
    timezone: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxItem:
    """An outbox row claimed by the dispatcher."""

    id: int
    entry: OutboxEntry
    attempts: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Notice:
    """Something the requester may need to hear about; notify decides what to say and how.

    ``key`` is unique per occurrence, so planning the same notice twice sends one message.
    """

    kind: str
    key: str
    ticket: Ticket
    status_token: str
    data: dict[str, Any] = field(default_factory=dict)
