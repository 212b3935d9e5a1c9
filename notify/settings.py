"""Notify settings: which events notify, retries and backoff."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

#: Every event the ticket core writes to the outbox; each has ``notify/templates/<event>.*.j2``.
EVENTS: tuple[str, ...] = (
    "acknowledgement",
    "appended",
    "public_reply",
    "status_changed",
    "waiting_for_you",
    "resolved",
    # SLA timers (sla/escalator.py): reminders to the requester, ladder steps to addresses.
    "still_waiting",
    "rating_request",
    "sla_warning",
    "sla_breach",
    # Phone call-backs (router/calls.py): the requester could not be reached by phone, so
    # they are told through their other identities (e-mail, Telegram).
    "callback_unreachable",
)


class NotifySettings(BaseModel):
    """How the outbox dispatcher behaves and which events notify requesters."""

    events: dict[str, bool] = Field(
        default_factory=lambda: dict.fromkeys(EVENTS, True),
        description="switch per event (acknowledgement, appended, public_reply, "
        "status_changed, waiting_for_you, resolved, still_waiting, rating_request, "
        "sla_warning, sla_breach, callback_unreachable); an event left out stays on",
    )
    max_attempts: int = Field(
        default=8, ge=1, description="send attempts before a notification is marked failed"
    )
    backoff_base_seconds: float = Field(
        default=2.0, gt=0, description="delay before the first retry; doubles on each attempt"
    )
    backoff_max_seconds: float = Field(
        default=3600, gt=0, description="upper bound of one retry delay, retry-after included"
    )
    batch_size: int = Field(
        default=50, ge=1, le=1000, description="outbox rows claimed per dispatcher round"
    )
    poll_interval_seconds: float = Field(
        default=1.0, gt=0, description="idle wait between rounds unless woken by a producer"
    )
    max_concurrent_sends: int = Field(
        default=10, ge=1, description="sends in flight at once within one round"
    )
    lease_seconds: float = Field(
        default=60.0,
        gt=0,
        description="how long a claimed row is hidden from other dispatchers; a crashed "
        "sender's rows come back after it",
    )

    @field_validator("events")
    @classmethod
    def _known_events(cls, value: dict[str, bool]) -> dict[str, bool]:
        unknown = sorted(set(value) - set(EVENTS))
        if unknown:
            msg = f"unknown events {unknown}; known: {list(EVENTS)}"
            raise ValueError(msg)
        return value

    def is_enabled(self, event: str) -> bool:
        """Whether notifications for ``event`` should be sent (on unless switched off)."""
        return self.events.get(event, True)
