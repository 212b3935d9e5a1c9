"""Notify settings: which events notify, retries and backoff."""

from __future__ import annotations

from pydantic import BaseModel, Field


class NotifySettings(BaseModel):
    max_attempts: int = Field(default=8, ge=1)
