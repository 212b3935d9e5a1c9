"""Request and response bodies of the JSON API (they also make the OpenAPI document)."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator

from ticketing.domain import ChannelKind, Priority, Status, TicketType


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SenderIn(Strict):
    name: str = Field(default="", max_length=200)
    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=32, pattern=r"^\+?[0-9 ()\-]{5,32}$")
    telegram_id: int | None = Field(default=None, gt=0)
    locale: Literal["ru", "en"] | None = None
    timezone: str | None = Field(default=None, max_length=64)

    @model_validator(mode="after")
    def _one_address(self) -> SenderIn:
        if not (self.email or self.phone or self.telegram_id):
            msg = "give at least one of email, phone, telegram_id"
            raise ValueError(msg)
        return self


class AttachmentIn(Strict):
    filename: str = Field(min_length=1, max_length=255)
    content_type: str = Field(default="application/octet-stream", max_length=127)
    content_base64: str

    @field_validator("content_base64")
    @classmethod
    def _is_base64(cls, value: str) -> str:
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            msg = "not valid base64"
            raise ValueError(msg) from exc
        return value

    def content(self) -> bytes:
        return base64.b64decode(self.content_base64)


class MessageIn(Strict):
    channel: ChannelKind = ChannelKind.API
    external_id: str = Field(min_length=1, max_length=255)
    sender: SenderIn
    subject: str = Field(default="", max_length=300)
    text: Annotated[str, Field(min_length=1, max_length=100_000)]
    service: str | None = Field(default=None, max_length=100)
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=20)


class MessageOut(BaseModel):
    outcome: Literal["created", "appended", "ignored", "queued"]
    ticket_number: int | None
    status_url: str | None = None
    reason: str | None = None


class CommentIn(Strict):
    text: str = Field(min_length=1, max_length=100_000)
    public: bool = True
    author: str = Field(min_length=1, max_length=200)


class StatusIn(Strict):
    status: Status
    actor: str = Field(min_length=1, max_length=200)
    comment: str | None = Field(default=None, max_length=10_000)


class CommentOut(BaseModel):
    id: int
    author_kind: str
    author_name: str
    public: bool
    body: str
    channel: str | None
    created_at: datetime
    attachments: list[dict[str, str | int]]


class EventOut(BaseModel):
    id: int
    kind: str
    actor: str
    data: dict[str, object]
    created_at: datetime


class SlaOut(BaseModel):
    """The ticket's SLA now: due times, business time left (negative: overdue), breach flags,
    and first reaction / resolution in business time."""

    agreement: str
    reaction_due_at: datetime | None
    resolution_due_at: datetime | None
    reaction_remaining_s: float | None = Field(
        description="business seconds left to the reaction target; null once reacted"
    )
    resolution_remaining_s: float | None = Field(
        description="business seconds left to the resolution target; null once resolved"
    )
    resolution_paused: bool = Field(description="waiting on the requester: the clock stands")
    reaction_breached: bool
    resolution_breached: bool
    first_reaction_business_s: float | None
    resolution_business_s: float | None


class TicketOut(BaseModel):
    number: int
    subject: str
    type: TicketType
    priority: Priority
    status: Status
    service: str | None
    category: str | None
    tags: list[str]
    classified: bool
    team: str | None
    assignee: str | None
    origin_channel: ChannelKind
    requester: dict[str, object]
    created_at: datetime
    updated_at: datetime
    reaction_due_at: datetime | None
    resolution_due_at: datetime | None
    first_reaction_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    rating: int | None
    rating_comment: str | None
    sla: SlaOut | None = Field(default=None, description="null when SLA tracking is off")


class TicketDetailOut(TicketOut):
    comments: list[CommentOut]
    events: list[EventOut]


class TicketListOut(BaseModel):
    items: list[TicketOut]
    next_before: int | None
