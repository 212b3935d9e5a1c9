"""Settings the ticket core needs: the service catalog, teams, attachments and defaults."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, field_validator


class ServiceSettings(BaseModel):
    """One entry of the service catalog."""

    id: str = Field(pattern=r"^[a-z0-9_\-]{1,100}$", description="stable identifier")
    name: dict[str, str] = Field(default_factory=dict, description="display name per locale")
    team: str | None = Field(default=None, description="team that handles it by default")


class TeamSettings(BaseModel):
    """A team of agents; tickets go to the least-loaded member."""

    id: str = Field(pattern=r"^[a-z0-9_\-]{1,100}$")
    name: str = Field(default="", description="display name")
    members: list[str] = Field(default_factory=list, description="agent user names")
    lead: str | None = Field(default=None, description="team lead, told about SLA breaches")


class StorageSettings(BaseModel):
    """Attachments are stored content-addressed (sha256) under ``attachments_dir``."""

    attachments_dir: Path = Field(
        default=Path("var/attachments"), description="content-addressed attachment store"
    )
    max_attachment_bytes: int = Field(
        default=10 * 1024 * 1024, ge=1, description="largest attachment accepted, in bytes"
    )
    max_attachments: int = Field(default=10, ge=0, description="attachments per message")


class TicketingSettings(BaseModel):
    default_locale: str = Field(
        default="ru", pattern=r"^(ru|en)$", description="language of a contact who gave none"
    )
    default_timezone: str = Field(
        default="Europe/Moscow", description="IANA time zone of a contact who gave none"
    )

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            msg = f"unknown time zone {value!r} (use an IANA name like Europe/Moscow)"
            raise ValueError(msg) from exc
        return value
