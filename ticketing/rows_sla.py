"""The SLA part's table: one row per tracked ticket, with its clocks and its next timer.

``next_event_at`` is indexed: the escalator's tick reads only the rows due by now, so its cost
follows the number of due timers, not the number of open tickets. The ticket's own
``reaction_due_at`` / ``resolution_due_at`` columns mirror the due times for the API and cards.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ticketing.models import Base, JsonType


class TicketSlaRow(Base):
    """A ticket's agreement, targets, clocks (business seconds), breach flags and timers."""

    __tablename__ = "ticket_sla"
    __table_args__ = (Index("ix_ticket_sla_next_event_at", "next_event_at"),)

    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("ticket.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    agreement: Mapped[str] = mapped_column(String(100))
    calendar: Mapped[str] = mapped_column(String(100))
    # Which agreement/calendar configuration the row was computed with (recompute on change).
    policy_hash: Mapped[str] = mapped_column(String(32))
    registered_at: Mapped[datetime]
    last_status: Mapped[str] = mapped_column(String(16))
    reaction_target_s: Mapped[float | None] = mapped_column(Float)
    resolution_target_s: Mapped[float | None] = mapped_column(Float)
    reaction_stopped_at: Mapped[datetime | None]
    # First reaction and resolution in business seconds, for reports.
    first_reaction_business_s: Mapped[float | None] = mapped_column(Float)
    resolution_business_s: Mapped[float | None] = mapped_column(Float)
    resolution_banked_s: Mapped[float] = mapped_column(Float, default=0.0)
    resolution_running_since: Mapped[datetime | None]
    waiting_since: Mapped[datetime | None]
    resolved_since: Mapped[datetime | None]
    reaction_breached: Mapped[bool] = mapped_column(Boolean, default=False)
    resolution_breached: Mapped[bool] = mapped_column(Boolean, default=False)
    fired: Mapped[list[str]] = mapped_column(JsonType, default=list)
    next_event_at: Mapped[datetime | None]
    next_event_kind: Mapped[str | None] = mapped_column(String(40))
    updated_at: Mapped[datetime]
