"""Phone settings: Mango Office VPBX webhooks and the generic call-log API.

The Mango key and salt are ``SecretStr`` and belong in the environment
(``OKNO_PHONE__MANGO__VPBX_API_KEY``, ``OKNO_PHONE__MANGO__VPBX_API_SALT``), never in the YAML.
"""

from __future__ import annotations

import phonenumbers
from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator

#: Where an agent opens a Mango recording: a permanent link behind the Mango account's own login
#: (the signed ``queries/recording/link`` URLs expire, so they are never stored on a ticket).
MANGO_RECORDING_URL = "https://app.mango-office.ru/vpbx/queries/recording/issa/{recording_id}/play"


class MangoSettings(BaseModel):
    """Mango Office VPBX realtime notifications at ``/phone/mango/events/*``."""

    enabled: bool = Field(
        default=False, description="accept Mango Office webhooks at /phone/mango/events/*"
    )
    vpbx_api_key: SecretStr | None = Field(
        default=None, description="VPBX product key (set OKNO_PHONE__MANGO__VPBX_API_KEY)"
    )
    vpbx_api_salt: SecretStr | None = Field(
        default=None, description="VPBX signing salt (set OKNO_PHONE__MANGO__VPBX_API_SALT)"
    )
    recording_url: str = Field(
        default=MANGO_RECORDING_URL,
        description="link attached to a ticket for a finished recording; {recording_id} is "
        "replaced",
    )

    @field_validator("recording_url")
    @classmethod
    def _has_placeholder(cls, value: str) -> str:
        if "{recording_id}" not in value or not value.startswith(("https://", "http://")):
            msg = "must be an http(s) URL containing {recording_id}"
            raise ValueError(msg)
        return value

    @model_validator(mode="after")
    def _credentials_when_enabled(self) -> MangoSettings:
        if self.enabled and not (self.vpbx_api_key and self.vpbx_api_salt):
            msg = "vpbx_api_key and vpbx_api_salt are required when Mango webhooks are enabled"
            raise ValueError(msg)
        return self


class PhoneSettings(BaseModel):
    """Call events from the PBX: what becomes a ticket and how numbers are read."""

    enabled: bool = Field(default=False, description="accept call events")
    api_enabled: bool = Field(
        default=True, description="accept call records at POST /api/v1/calls (bearer token)"
    )
    default_region: str = Field(
        default="RU",
        description="ISO country whose national format numbers without a + are read in "
        '("8 (912) 123-45-67")',
    )
    open_ticket_on_answered: bool = Field(
        default=False,
        description="an answered call from someone with no open ticket opens one (otherwise "
        "it is only recorded)",
    )
    callback_attempts: int = Field(
        default=3,
        ge=1,
        le=20,
        description="unanswered call-back attempts before the requester is told by other means",
    )
    max_body_bytes: int = Field(
        default=64 * 1024,
        ge=1024,
        le=1024 * 1024,
        description="largest call event accepted (413 above)",
    )
    mango: MangoSettings = Field(
        default_factory=MangoSettings, description="Mango Office VPBX webhooks"
    )

    @field_validator("default_region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        if value.upper() not in phonenumbers.SUPPORTED_REGIONS:
            msg = f"unknown region {value!r} (use an ISO 3166 code like RU)"
            raise ValueError(msg)
        return value.upper()
