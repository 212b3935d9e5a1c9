"""E-mail settings: the IMAP mailbox read for new mail and the SMTP server replies go through.

Passwords are ``SecretStr`` and belong in the environment (``OKNO_EMAIL__IMAP__PASSWORD``,
``OKNO_EMAIL__SMTP__PASSWORD``), never in the YAML file.
"""

from __future__ import annotations

import enum

from pydantic import BaseModel, Field, SecretStr, field_validator


class Security(enum.StrEnum):
    """How the connection is protected: implicit TLS, STARTTLS, or nothing (loopback only)."""

    TLS = "tls"
    STARTTLS = "starttls"
    NONE = "none"


class AfterStore(enum.StrEnum):
    """What happens to a message in the mailbox once it is committed to the inbox."""

    SEEN = "seen"
    MOVE = "move"
    DELETE = "delete"


class ImapSettings(BaseModel):
    """The mailbox okno reads."""

    host: str = Field(default="127.0.0.1", description="IMAP server")
    port: int = Field(default=993, ge=1, le=65535, description="993 with tls, 143 otherwise")
    security: Security = Field(
        default=Security.TLS, description="tls or none (the IMAP client has no STARTTLS)"
    )
    verify_certificates: bool = Field(default=True, description="check the server certificate")
    username: str = Field(default="", description="login name")
    password: SecretStr | None = Field(
        default=None, description="set OKNO_EMAIL__IMAP__PASSWORD, never in this file"
    )
    mailbox: str = Field(default="INBOX", description="folder to read")
    after_store: AfterStore = Field(
        default=AfterStore.SEEN,
        description="seen: flag \\Seen; move: move to move_to; delete: expunge (only if chosen)",
    )
    move_to: str = Field(default="Processed", description="folder for after_store: move")
    idle: bool = Field(default=True, description="wait with IMAP IDLE when the server has it")
    idle_seconds: float = Field(
        default=600.0, gt=0, le=1740, description="re-issue IDLE this often (RFC 2177: < 29 min)"
    )
    poll_seconds: float = Field(
        default=60.0, gt=0, description="polling interval when IDLE is off or unsupported"
    )
    timeout_seconds: float = Field(default=30.0, gt=0, description="per IMAP command")
    backoff_max_seconds: float = Field(
        default=300.0, gt=0, description="longest wait between reconnection attempts"
    )
    # aioimaplib parses one response recursively, line by line: keep responses far below
    # Python's recursion limit (a FETCH of N messages answers with N lines or more).
    batch_size: int = Field(default=50, ge=1, le=200, description="messages fetched at once")

    @field_validator("security")
    @classmethod
    def _no_starttls(cls, value: Security) -> Security:
        if value is Security.STARTTLS:
            msg = "IMAP supports tls (port 993) or none; aioimaplib has no STARTTLS"
            raise ValueError(msg)
        return value


class SmtpSettings(BaseModel):
    """The server replies are sent through."""

    host: str = Field(default="127.0.0.1", description="SMTP server")
    port: int = Field(default=465, ge=1, le=65535, description="465 with tls, 587 with starttls")
    security: Security = Field(default=Security.TLS, description="tls, starttls or none")
    verify_certificates: bool = Field(default=True, description="check the server certificate")
    username: str = Field(default="", description="login name; empty: no authentication")
    password: SecretStr | None = Field(
        default=None, description="set OKNO_EMAIL__SMTP__PASSWORD, never in this file"
    )
    timeout_seconds: float = Field(default=30.0, gt=0, description="per SMTP command")


class EmailSettings(BaseModel):
    enabled: bool = Field(default=False, description="read the mailbox and send mail")
    address: str = Field(
        default="support@example.com", description="the desk's address: From of every reply"
    )
    display_name: str = Field(default="Service Desk", description="name shown beside address")
    message_id_domain: str = Field(
        default="",
        description="right side of our Message-IDs (mail from it is ours); empty: the "
        "address's domain",
    )
    imap: ImapSettings = Field(default_factory=ImapSettings, description="incoming mail")
    smtp: SmtpSettings = Field(default_factory=SmtpSettings, description="outgoing mail")
    max_message_bytes: int = Field(
        default=25 * 1024 * 1024, ge=1024, description="larger mail is politely refused"
    )
    max_attachments: int = Field(default=20, ge=0, description="attachments kept per message")
    max_attachment_bytes: int | None = Field(
        default=None, ge=1, description="bytes per attachment; unset: storage limit"
    )
    max_outgoing_attachment_bytes: int = Field(
        default=10 * 1024 * 1024,
        ge=0,
        description="files attached to one sent mail, together; the rest are linked instead",
    )
    message_timeout_seconds: float = Field(
        default=60.0, gt=0, description="time limit for one message (parse and store)"
    )
    auto_replies_per_hour: int = Field(
        default=5, ge=0, description="automatic mails to one address per hour"
    )
    auto_replies_per_day: int = Field(
        default=20, ge=0, description="automatic mails to one address per day"
    )

    @property
    def id_domain(self) -> str:
        """The domain of our Message-IDs."""
        return self.message_id_domain or self.address.rpartition("@")[2] or "localhost"
