"""Rows of the phone channel: calls, the events that reported them, and their recordings.

A call is assembled from events that may arrive out of order and more than once, so each
event is stored once (unique per call and event key) and the call's state is derived from
all of them. ``call.state`` records what the call led to, so a redelivery changes nothing:

``new`` (no definitive event yet) → ``submitted`` (its message is in the durable inbox; the
router is making or finding the ticket) | ``waiting`` (another call from the same number is
being made into a ticket; this one is logged there) → ``linked`` (on ``ticket_id``);
or ``ignored`` (recorded only: an internal call, no callable number, nothing to log it on).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ticketing.models import Base, BigId, JsonType


class CallRow(Base):
    __tablename__ = "call"
    __table_args__ = (
        UniqueConstraint("source", "key"),
        Index("ix_call_number_state", "number", "state"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16), default="new")
    direction: Mapped[str | None] = mapped_column(String(16))
    result: Mapped[str | None] = mapped_column(String(16))
    number: Mapped[str | None] = mapped_column(String(32))
    facts: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    outcome: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(200))
    # Soft references (no foreign keys): with one, PostgreSQL would check the inbox row on
    # updates of a call it just wrote, and so wait for the router that holds that row while
    # it links this very call (a lock cycle). Inbox rows and tickets are never deleted.
    inbound_id: Mapped[int | None] = mapped_column(BigId, index=True)
    ticket_id: Mapped[int | None] = mapped_column(BigId, index=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class CallEventRow(Base):
    __tablename__ = "call_event"
    __table_args__ = (UniqueConstraint("call_id", "event_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id", ondelete="CASCADE"))
    event_key: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))
    # For leg events: which leg, its sequence number and state (the latest seq wins).
    leg_id: Mapped[str | None] = mapped_column(String(200))
    seq: Mapped[int | None]
    leg_state: Mapped[str | None] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(JsonType)
    received_at: Mapped[datetime]


class CallRecordingRow(Base):
    __tablename__ = "call_recording"
    __table_args__ = (UniqueConstraint("call_id", "ref"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id", ondelete="CASCADE"))
    ref: Mapped[str] = mapped_column(String(255))
    url: Mapped[str] = mapped_column(Text)
    # Set in the transaction that wrote the link on the ticket: logged once, never twice.
    # A soft reference, like call.ticket_id.
    ticket_id: Mapped[int | None] = mapped_column(BigId)
    created_at: Mapped[datetime]
