"""Web form settings: limits and rate limits."""

from __future__ import annotations

from pydantic import BaseModel, Field


class WebformSettings(BaseModel):
    enabled: bool = True
    max_requests_per_ip_per_hour: int = Field(default=30, ge=1)
