"""SLA settings: calendars, agreements, targets and the escalation ladder."""

from __future__ import annotations

from pydantic import BaseModel, Field


class SlaSettings(BaseModel):
    enabled: bool = Field(default=False, description="track SLA clocks and run the escalator")
