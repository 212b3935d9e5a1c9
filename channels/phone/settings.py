"""Phone settings: Mango Office VPBX webhooks and the generic call-log API."""

from __future__ import annotations

from pydantic import BaseModel, Field


class PhoneSettings(BaseModel):
    enabled: bool = Field(default=False, description="accept call events")
