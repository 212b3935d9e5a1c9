"""Builds SLA tracking from its settings and attaches it to a running okno.

`okno/app.py` calls :func:`attach` once per process: it adds the clock keeper to
the notice chain and names the escalator as the background work of the ``sla`` role.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from sla.escalator import Escalator
from sla.keeper import ClockKeeper
from sla.policy import SlaPolicy
from sla.recompute import Recompute
from sla.reminders import Reminders
from sla.settings import SlaSettings

if TYPE_CHECKING:
    from okno.app import Okno

ROLE = "sla"


def policy_for(settings: SlaSettings) -> SlaPolicy | None:
    """The policy the ticket API shows SLA with; None when SLA tracking is off."""
    return SlaPolicy(settings) if settings.enabled else None


def escalator_for(okno: Okno, policy: SlaPolicy) -> Escalator:
    """The escalator over this okno's database, ticket service and notify settings."""
    settings = okno.settings
    return Escalator(
        db=okno.db,
        tickets=okno.tickets,
        policy=policy,
        settings=settings.sla,
        reminders=Reminders(
            settings.notify,
            status_url=okno.status_url_for,
            locale=settings.ticketing.default_locale,
            timezone=settings.ticketing.default_timezone,
        ),
        leads={team.id: team.lead for team in settings.teams},
        now=okno.now,
        wake=okno.dispatcher.wake,
    )


@contextlib.asynccontextmanager
async def attach(okno: Okno) -> AsyncIterator[None]:
    """Wire SLA tracking into ``okno`` (nothing when disabled); release it on exit."""
    if not okno.settings.sla.enabled:
        yield
        return
    policy = SlaPolicy(okno.settings.sla)
    # Every process that changes tickets keeps the clocks: serve, router and telegram workers.
    okno.notice_enrichers.append(ClockKeeper(policy))
    escalator = escalator_for(okno, policy)
    recompute = Recompute(
        db=okno.db,
        policy=policy,
        batch_size=okno.settings.sla.recompute_batch_size,
        now=okno.now,
    )

    async def run(stop: asyncio.Event) -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(recompute.run(), name="sla-recompute")
            group.create_task(escalator.run(stop), name="sla-escalator")

    okno.runners[ROLE] = run
    yield
