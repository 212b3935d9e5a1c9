"""What the ticket API and the agents' cards show about SLA: due times, business time left,
breach flags, and first reaction / resolution in business time (for reports)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from sla.policy import SlaPolicy
from sla.records import state_from_record
from ticketing import sla_store


@dataclass(frozen=True, slots=True, kw_only=True)
class SlaView:
    """One ticket's SLA at a moment; business seconds, negative when overdue."""

    agreement: str
    reaction_due_at: datetime | None
    resolution_due_at: datetime | None
    reaction_remaining_s: float | None
    resolution_remaining_s: float | None
    resolution_paused: bool
    reaction_breached: bool
    resolution_breached: bool
    first_reaction_business_s: float | None
    resolution_business_s: float | None


async def sla_views(
    session: AsyncSession, policy: SlaPolicy, numbers: Collection[int], now: datetime
) -> dict[int, SlaView]:
    """The SLA view of each tracked ticket among ``numbers`` (untracked ones are left out)."""
    views: dict[int, SlaView] = {}
    for number, record in (await sla_store.load(session, numbers)).items():
        state = state_from_record(record)
        calendar = policy.calendars.get(record.calendar, policy.calendars["24x7"])
        reaction, resolution = state.remaining(calendar, now)
        views[number] = SlaView(
            agreement=record.agreement,
            reaction_due_at=record.reaction_due_at,
            resolution_due_at=record.resolution_due_at,
            reaction_remaining_s=None if reaction is None else reaction.total_seconds(),
            resolution_remaining_s=None if resolution is None else resolution.total_seconds(),
            resolution_paused=record.last_status == "waiting",
            reaction_breached=record.reaction_breached
            or (reaction is not None and reaction.total_seconds() < 0),
            resolution_breached=record.resolution_breached
            or (resolution is not None and resolution.total_seconds() < 0),
            first_reaction_business_s=record.first_reaction_business_s,
            resolution_business_s=record.resolution_business_s,
        )
    return views
