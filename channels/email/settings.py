"""E-mail settings: the IMAP mailbox read for new mail and the SMTP server replies go through."""

from __future__ import annotations

from pydantic import BaseModel, Field


class EmailSettings(BaseModel):
    enabled: bool = Field(default=False, description="read the mailbox and send mail")
