"""Settings the ticket core needs: the service catalog, teams, attachments and defaults."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field


class ServiceSettings(BaseModel):
    """One entry of the service catalog."""

    id: str = Field(pattern=r"^[a-z0-9_\-]{1,100}$", description="stable identifier")
    name: dict[str, str] = Field(default_factory=dict, description="display name per locale")
    team: str | None = Field(default=None, description="team that handles it by default")


class TeamSettings(BaseModel):
    """A team of agents; tickets go to the least-loaded member."""

    id: str = Field(pattern=r"^[a-z0-9_\-]{1,100}$")
    name: str = ""
    members: list[str] = Field(default_factory=list, description="agent user names")
    lead: str | None = None


class StorageSettings(BaseModel):
    """Attachments are stored content-addressed (sha256) under ``attachments_dir``."""

    attachments_dir: Path = Path("var/attachments")
    max_attachment_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    max_attachments: int = Field(default=10, ge=0)


class TicketingSettings(BaseModel):
    default_locale: str = Field(default="ru", pattern=r"^(ru|en)$")
    default_timezone: str = "Europe/Moscow"
    max_subject_chars: int = 300
    max_text_chars: int = Field(default=100_000, ge=1)
