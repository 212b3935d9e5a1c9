"""Tables of the e-mail channel: mailbox progress, quarantine, reachability, reply counters."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ticketing.models import Base, BigId


class MailboxStateRow(Base):
    """How far one IMAP folder has been read: everything up to ``last_uid`` is stored."""

    __tablename__ = "email_mailbox"

    mailbox: Mapped[str] = mapped_column(String(200), primary_key=True)
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime]


class QuarantineRow(Base):
    """Mail that could not be processed, kept raw with its error (``okno replay`` retries)."""

    __tablename__ = "email_quarantine"
    __table_args__ = (Index("ix_email_quarantine_state", "state"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(200))
    uid: Mapped[int | None] = mapped_column(BigInteger)
    message_id: Mapped[str | None] = mapped_column(String(255))
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    error: Mapped[str] = mapped_column(Text)
    # held → replay (asked for) → replayed | held again with the new error
    state: Mapped[str] = mapped_column(String(16), default="held")
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    received_at: Mapped[datetime]
    replayed_at: Mapped[datetime | None]


class UndeliverableRow(Base):
    """An address a bounce reported as unable to receive mail."""

    __tablename__ = "email_undeliverable"

    address: Mapped[str] = mapped_column(String(320), primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    marked_at: Mapped[datetime]


class AutoReplyRow(Base):
    """One automatic mail sent to an address; counted for the hourly and daily caps."""

    __tablename__ = "email_auto_reply"
    __table_args__ = (
        UniqueConstraint("idempotency_key"),
        Index("ix_email_auto_reply_address_sent", "address", "sent_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    address: Mapped[str] = mapped_column(String(320))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    sent_at: Mapped[datetime]


class ConnectionStateRow(Base):
    """The last attempt and success of the IMAP and SMTP connections, for ``okno check``."""

    __tablename__ = "email_connection"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_attempt_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
