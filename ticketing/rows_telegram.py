"""Tables of the Telegram part: cards and topics, messages we sent, agents, handled updates,
album parts waiting to become one message, and the agents' desk work queue.

Telegram ids (chats, users, messages) are 64-bit; ``BigInteger`` holds them on both backends.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy import UniqueConstraint as Unique
from sqlalchemy.orm import Mapped, mapped_column

from ticketing.models import Base, BigId, JsonType


class TelegramCardRow(Base):
    """A ticket's card in the agents' group, and its forum topic when the group is a forum."""

    __tablename__ = "telegram_card"
    __table_args__ = (Index("ix_telegram_card_thread", "chat_id", "thread_id"),)

    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("ticket.id", ondelete="CASCADE"), primary_key=True
    )
    chat_id: Mapped[int] = mapped_column(BigInteger)
    thread_id: Mapped[int | None] = mapped_column(BigInteger)
    card_message_id: Mapped[int | None] = mapped_column(BigInteger)
    topic_closed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class TelegramMessageRow(Base):
    """A message the bot sent about a ticket: a reply to it continues that ticket."""

    __tablename__ = "telegram_message"
    __table_args__ = (Unique("chat_id", "message_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int] = mapped_column(BigInteger)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]


class TelegramAgentRow(Base):
    """A member of the agents' group, registered by their first action there."""

    __tablename__ = "telegram_agent"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    username: Mapped[str | None] = mapped_column(String(64), index=True)
    first_name: Mapped[str] = mapped_column(String(200), default="")
    name: Mapped[str] = mapped_column(String(100), unique=True)
    registered_at: Mapped[datetime]
    seen_at: Mapped[datetime]


class TelegramUpdateRow(Base):
    """An update whose effect is committed; a redelivery of it changes nothing."""

    __tablename__ = "telegram_update"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    handled_at: Mapped[datetime]


class TelegramAlbumPartRow(Base):
    """One photo of an album, stored (and acknowledged) before the album becomes one message."""

    __tablename__ = "telegram_album_part"
    __table_args__ = (
        Unique("chat_id", "message_id"),
        Index("ix_telegram_album_part_open", "flushed", "chat_id", "media_group_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    media_group_id: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[int] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any]] = mapped_column(JsonType)
    flushed: Mapped[bool] = mapped_column(Boolean, default=False)
    received_at: Mapped[datetime]


class TelegramDeskJobRow(Base):
    """Work for the agents' group (a card, a topic, a line), written with the ticket change."""

    __tablename__ = "telegram_desk_job"
    __table_args__ = (
        Index("ix_telegram_desk_job_due", "state", "next_attempt_at"),
        Index("ix_telegram_desk_job_ticket", "ticket_id", "state"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    # pending → done | failed
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    done_at: Mapped[datetime | None]
