"""Router settings: dedup windows, classification rules, priority matrix, routing."""

from __future__ import annotations

from pydantic import BaseModel, Field


class RouterSettings(BaseModel):
    dedup_window_hours: float = Field(default=24.0, ge=0)
