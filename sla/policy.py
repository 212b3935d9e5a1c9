"""Which agreement covers a ticket, its targets, its ladder and requester timers. Pure.

:class:`SlaPolicy` is built once from the settings; :meth:`SlaPolicy.plan_for` answers for one
ticket from its facts alone (no I/O), and :func:`due_times` turns a plan and the clocks into
the two due moments the ticket shows.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import holidays as holiday_data

from sla.calendar import BusinessCalendar, parse_duration, weekly_hours
from sla.clocks import Clocks
from sla.settings import (
    ROUND_THE_CLOCK,
    AgreementSettings,
    CalendarSettings,
    LadderStep,
    RuleSettings,
    SlaSettings,
)
from ticketing.domain import Ticket


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketFacts:
    """What agreement selection and rules look at."""

    priority: str
    type: str
    service: str | None
    company: str | None = None
    department: str | None = None
    contact_keys: frozenset[str] = frozenset()

    @classmethod
    def of(cls, ticket: Ticket, identities: Sequence[str] = ()) -> TicketFacts:
        requester = ticket.requester
        keys = {f"#{requester.id}", *(i.value.lower() for i in requester.identities)}
        keys.update(value.lower() for value in identities)
        return cls(
            priority=ticket.priority.value,
            type=ticket.type.value,
            service=ticket.service,
            company=requester.company,
            department=requester.department,
            contact_keys=frozenset(keys),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class RequesterPlan:
    still_waiting: timedelta | None = None
    auto_resolve: timedelta | None = None
    rating_request: timedelta | None = None
    auto_close: timedelta | None = None


@dataclass(frozen=True, slots=True)
class Rung:
    """A ladder step on one clock: its timer key and the business time it is due at."""

    key: str
    step: LadderStep
    span: timedelta


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """Everything the clocks and the escalator need for one ticket."""

    agreement: str
    calendar_id: str
    calendar: BusinessCalendar = field(repr=False)
    reaction: timedelta | None
    resolution: timedelta | None
    ladder: tuple[LadderStep, ...]
    requester: RequesterPlan
    policy_hash: str
    # The ladder worked out per clock once (a plan serves many tickets), steps ascending.
    reaction_rungs: tuple[Rung, ...] = ()
    resolution_rungs: tuple[Rung, ...] = ()


@dataclass(frozen=True, slots=True)
class DueTimes:
    reaction: datetime | None
    resolution: datetime | None


def build_calendar(settings: CalendarSettings) -> BusinessCalendar:
    """A calendar from its settings, public holidays from the ``holidays`` package."""
    if settings.hours == "24x7":
        return BusinessCalendar(zone=settings.timezone, name=settings.id)
    days_off: _Adjusted | set[date]
    working: _Working | set[date] = set(settings.working_days_added)
    if settings.holidays_country:
        public = holiday_data.country_holidays(
            settings.holidays_country, subdiv=settings.holidays_subdivision
        )
        days_off = _Adjusted(public, set(settings.holidays_added), set(settings.holidays_removed))
        working = _Working(public, set(settings.working_days_added))
    else:
        days_off = set(settings.holidays_added)
    return BusinessCalendar(
        zone=settings.timezone,
        week=weekly_hours(settings.hours, settings.breaks),
        holidays=days_off,
        working_days=working,
        name=settings.id,
    )


class _Adjusted:
    """Public holidays plus and minus the configured dates."""

    def __init__(
        self, public: holiday_data.HolidayBase, added: set[date], removed: set[date]
    ) -> None:
        self._public, self._added, self._removed = public, added, removed

    def __contains__(self, day: object) -> bool:
        if day in self._added:
            return True
        return day not in self._removed and day in self._public


class _Working:
    """Weekend days worked: the package's transferred working days plus the configured ones."""

    def __init__(self, public: holiday_data.HolidayBase, added: set[date]) -> None:
        self._public, self._added = public, added

    def __contains__(self, day: object) -> bool:
        if day in self._added:
            return True
        # The package fills a year (and its transferred working days) on first lookup.
        _ = day in self._public
        return day in getattr(self._public, "weekend_workdays", ())


def _span(calendar: BusinessCalendar, text: str | None) -> timedelta | None:
    return None if text is None else calendar.span(parse_duration(text))


def _rungs(clock: str, target: timedelta | None, ladder: Sequence[LadderStep]) -> tuple[Rung, ...]:
    if target is None:
        return ()
    return tuple(
        Rung(key=f"{clock}:{step.percent}", step=step, span=target * step.percent // 100)
        for step in ladder
    )


def _matches(rule: RuleSettings, facts: TicketFacts) -> bool:
    return (
        (not rule.priority or facts.priority in rule.priority)
        and (not rule.type or facts.type in rule.type)
        and (not rule.service or facts.service in rule.service)
    )


class SlaPolicy:
    """The configured agreements and calendars, answering per ticket.

    Args:
        settings: the SLA section of the configuration.
    """

    def __init__(self, settings: SlaSettings) -> None:
        self.settings = settings
        self.calendars: dict[str, BusinessCalendar] = {
            ROUND_THE_CLOCK: BusinessCalendar(name=ROUND_THE_CLOCK)
        }
        calendar_settings = {c.id: c for c in settings.calendars}
        for calendar in settings.calendars:
            self.calendars[calendar.id] = build_calendar(calendar)
        self.agreements: dict[str, AgreementSettings] = {
            a.id: a for a in (settings.base, *settings.agreements)
        }
        # A ticket's plan is stale when its agreement, that agreement's calendar, or the way
        # agreements are chosen changed; only such tickets are recomputed after a restart.
        selection = [
            a.model_dump(include={"id", "companies", "departments", "contacts", "services"})
            for a in settings.agreements
        ]
        self.hashes: dict[str, str] = {}
        for agreement in self.agreements.values():
            found = calendar_settings.get(agreement.calendar)
            blob = json.dumps(
                [
                    selection,
                    agreement.model_dump(mode="json"),
                    found.model_dump(mode="json") if found else ROUND_THE_CLOCK,
                ],
                sort_keys=True,
            )
            self.hashes[agreement.id] = hashlib.sha256(blob.encode()).hexdigest()[:32]
        self._plans: dict[tuple[str, str, str, str | None], Plan] = {}
        # Contacts named by e-mail, phone or Telegram id need the requester's identities read.
        self.needs_identities = any(
            not contact.startswith("#") for a in settings.agreements for contact in a.contacts
        )

    def agreement_for(self, facts: TicketFacts) -> AgreementSettings:
        """Contact before department before company; an agreement listing services covers
        only those; everyone else has the base agreement."""
        covering = [
            a
            for a in self.settings.agreements
            if not a.services or (facts.service is not None and facts.service in a.services)
        ]
        for agreement in covering:
            if facts.contact_keys & {c.lower() for c in agreement.contacts}:
                return agreement
        for agreement in covering:
            if facts.department is not None and facts.department in agreement.departments:
                return agreement
        for agreement in covering:
            if facts.company is not None and facts.company in agreement.companies:
                return agreement
        return self.settings.base

    def plan_for(self, facts: TicketFacts) -> Plan:
        """The agreement, targets, ladder and timers for a ticket with these facts."""
        agreement = self.agreement_for(facts)
        key = (agreement.id, facts.priority, facts.type, facts.service)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = self._plan(agreement, facts)
        return plan

    def _plan(self, agreement: AgreementSettings, facts: TicketFacts) -> Plan:
        calendar = self.calendars[agreement.calendar]
        targets = next((r for r in agreement.rules if _matches(r, facts)), agreement.default)
        timers = agreement.requester
        reaction = _span(calendar, targets.reaction)
        resolution = _span(calendar, targets.resolution)
        return Plan(
            agreement=agreement.id,
            calendar_id=agreement.calendar,
            calendar=calendar,
            reaction=reaction,
            resolution=resolution,
            ladder=tuple(agreement.ladder),
            reaction_rungs=_rungs("reaction", reaction, agreement.ladder),
            resolution_rungs=_rungs("resolution", resolution, agreement.ladder),
            requester=RequesterPlan(
                still_waiting=_span(calendar, timers.still_waiting_after),
                auto_resolve=_span(calendar, timers.auto_resolve_after),
                rating_request=_span(calendar, timers.rating_request_after),
                auto_close=_span(calendar, timers.auto_close_after),
            ),
            policy_hash=self.hashes[agreement.id],
        )

    def current_hashes(self) -> Mapping[str, str]:
        return self.hashes


def due_times(clocks: Clocks, plan: Plan) -> DueTimes:
    """When each running clock reaches its target (None: not running or not tracked).

    Reaction never pauses, so it is due a fixed business time after registration. Resolution
    is due its remaining budget after it last started running.
    """
    calendar = plan.calendar
    reaction = None
    if plan.reaction is not None:
        reaction = calendar.add(clocks.registered_at, plan.reaction)
    resolution = None
    if plan.resolution is not None and clocks.resolution_running_since is not None:
        resolution = calendar.add(
            clocks.resolution_running_since, plan.resolution - clocks.resolution_banked
        )
    return DueTimes(reaction, resolution)
