"""SLA settings: calendars, agreements, targets and the escalation ladder.

Durations read ``"30s"``, ``"45m"``, ``"4h"``, ``"2d"`` or combinations (``"1d4h"``). They are
*business* time of the agreement's calendar, and ``"d"`` means business days of that calendar:
with Mon–Fri 09:00–18:00 and an hour's lunch a day is 8 business hours, so ``"2d"`` from Monday
10:00 is Wednesday 10:00; on a ``24x7`` calendar a day is 24 hours.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, field_validator, model_validator

from sla.calendar import WEEKDAYS, parse_clock_range, parse_duration, parse_weekdays

BASE_AGREEMENT = "base"
ROUND_THE_CLOCK = "24x7"
OFFICE_CALENDAR = "office"

_ID = r"^[a-z0-9_\-]{1,100}$"
_ADDRESS = re.compile(r"^(email|telegram):\S+$")


def _duration(value: str | None) -> str | None:
    if value is not None:
        parse_duration(value)
    return value


class CalendarSettings(BaseModel):
    """When the clock runs: ``24x7``, or weekly hours with breaks in a time zone."""

    id: str = Field(pattern=_ID, description="referred to by agreements")
    timezone: str = Field(default="Europe/Moscow", description="IANA zone of the hours")
    hours: Literal["24x7"] | dict[str, list[str]] = Field(
        default_factory=lambda: {"mon-fri": ["09:00-18:00"]},
        description='"24x7", or working hours per weekday: {mon-fri: ["09:00-18:00"], '
        'sat: ["10:00-14:00"]}',
    )
    breaks: list[str] = Field(
        default_factory=list,
        description='daily breaks cut out of every working day: ["13:00-14:00"]',
    )
    holidays_country: str | None = Field(
        default="RU",
        description="public holidays (and transferred working days) from the holidays package; "
        "null: none",
    )
    holidays_subdivision: str | None = Field(default=None, description="region, e.g. a state")
    holidays_added: list[date] = Field(
        default_factory=list, description="extra days off (a company holiday)"
    )
    holidays_removed: list[date] = Field(
        default_factory=list, description="public holidays that are worked here"
    )
    working_days_added: list[date] = Field(
        default_factory=list,
        description="weekend days that are worked (Russian transferred working days), with the "
        "hours of the first working weekday",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            msg = f"unknown time zone {value!r} (use an IANA name like Europe/Moscow)"
            raise ValueError(msg) from exc
        return value

    @field_validator("hours")
    @classmethod
    def _valid_hours(
        cls, value: Literal["24x7"] | dict[str, list[str]]
    ) -> Literal["24x7"] | dict[str, list[str]]:
        if isinstance(value, str):
            return value
        for days, ranges in value.items():
            parse_weekdays(days)
            for text in ranges:
                parse_clock_range(text)
        return value

    @field_validator("breaks")
    @classmethod
    def _valid_breaks(cls, value: list[str]) -> list[str]:
        for text in value:
            parse_clock_range(text)
        return value

    @model_validator(mode="after")
    def _has_working_time(self) -> CalendarSettings:
        if self.hours != "24x7" and not any(self.hours.values()):
            msg = f"hours: calendar {self.id!r} has no working hours at all"
            raise ValueError(msg)
        return self


class TargetSettings(BaseModel):
    """Reaction and resolution targets in business time; null: that clock is not tracked."""

    reaction: str | None = Field(
        default="4h",
        description='first reaction within this business time: "30s", "45m", "4h", "2d", '
        '"1d4h"; d = business days of the calendar (8 h for 09:00-18:00 with lunch)',
    )
    resolution: str | None = Field(
        default="2d", description="resolution within this business time (paused in waiting)"
    )

    _check_reaction = field_validator("reaction")(_duration)
    _check_resolution = field_validator("resolution")(_duration)


class RuleSettings(TargetSettings):
    """Targets for the tickets matching every condition given (an empty condition matches all)."""

    priority: list[Literal["critical", "high", "medium", "low"]] = Field(default_factory=list)
    type: list[Literal["incident", "service_request", "question"]] = Field(default_factory=list)
    service: list[str] = Field(default_factory=list)


def _assignee_only() -> list[Literal["assignee", "lead", "supervisors"]]:
    return ["assignee"]


class LadderStep(BaseModel):
    """One rung of the escalation ladder, at a share of a clock's target."""

    percent: int = Field(ge=1, le=1000, description="share of the target elapsed")
    level: Literal["warning", "breach", "escalation"] = Field(description="what it means")
    notify: list[Literal["assignee", "lead", "supervisors"]] = Field(
        default_factory=_assignee_only, description="who hears about it on the agents' side"
    )
    recipients: list[str] = Field(
        default_factory=list,
        description='also sent through the outbox to: ["email:boss@example.ru", "telegram:123"]',
    )

    @field_validator("recipients")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for address in value:
            if not _ADDRESS.match(address):
                msg = f"{address!r}: write email:ADDRESS or telegram:CHAT_ID"
                raise ValueError(msg)
        return value


def _default_ladder() -> list[LadderStep]:
    return [
        LadderStep(percent=75, level="warning", notify=["assignee"]),
        LadderStep(percent=100, level="breach", notify=["assignee", "lead", "supervisors"]),
        LadderStep(percent=150, level="escalation", notify=["lead", "supervisors"]),
    ]


class RequesterTimers(BaseModel):
    """Timers that speak to the requester through the channel they wrote from."""

    still_waiting_after: str | None = Field(
        default="1d", description='"we still need your reply" after this long in waiting'
    )
    auto_resolve_after: str | None = Field(
        default="5d", description="resolve a ticket left waiting this long (null: never)"
    )
    rating_request_after: str | None = Field(
        default="4h", description="ask an unrated resolved ticket for a rating after this long"
    )
    auto_close_after: str | None = Field(
        default="3d", description="close a resolved ticket after this long (null: never)"
    )

    _check = field_validator(
        "still_waiting_after", "auto_resolve_after", "rating_request_after", "auto_close_after"
    )(_duration)


def _default_rules() -> list[RuleSettings]:
    return [
        RuleSettings(priority=["critical"], reaction="15m", resolution="4h"),
        RuleSettings(priority=["high"], reaction="1h", resolution="1d"),
        RuleSettings(priority=["medium"], reaction="4h", resolution="2d"),
        RuleSettings(priority=["low"], reaction="1d", resolution="5d"),
    ]


class AgreementSettings(BaseModel):
    """A service-level agreement: whom it covers, its calendar, targets and ladder."""

    id: str = Field(pattern=_ID, description="stable identifier, stored on each ticket")
    name: str = Field(default="", description="display name")
    calendar: str = Field(default=OFFICE_CALENDAR, description="id of a calendar")
    companies: list[str] = Field(default_factory=list, description="contacts of these companies")
    departments: list[str] = Field(default_factory=list, description="… of these departments")
    contacts: list[str] = Field(
        default_factory=list,
        description="these contacts: an e-mail, +E.164 phone, Telegram id or #CONTACT_ID",
    )
    services: list[str] = Field(
        default_factory=list, description="services it covers (empty: every service)"
    )
    rules: list[RuleSettings] = Field(
        default_factory=_default_rules, description="first matching rule sets the targets"
    )
    default: TargetSettings = Field(
        default_factory=TargetSettings, description="targets when no rule matches"
    )
    ladder: list[LadderStep] = Field(
        default_factory=_default_ladder, description="escalation steps, by share of a target"
    )
    requester: RequesterTimers = Field(
        default_factory=RequesterTimers, description="reminders and automatic closing"
    )

    @field_validator("ladder")
    @classmethod
    def _ascending(cls, value: list[LadderStep]) -> list[LadderStep]:
        percents = [step.percent for step in value]
        if percents != sorted(set(percents)):
            msg = "ladder steps must have distinct percents in ascending order"
            raise ValueError(msg)
        return value


def _default_calendars() -> list[CalendarSettings]:
    return [CalendarSettings(id=OFFICE_CALENDAR, breaks=["13:00-14:00"])]


class SlaSettings(BaseModel):
    """Calendars, agreements and the escalator (SPEC §7)."""

    enabled: bool = Field(default=False, description="track SLA clocks and run the escalator")
    calendars: list[CalendarSettings] = Field(
        default_factory=_default_calendars,
        description='working calendars; "24x7" always exists',
    )
    base: AgreementSettings = Field(
        default_factory=lambda: AgreementSettings(id=BASE_AGREEMENT, name="Base"),
        description="the agreement that applies to everyone no other agreement covers",
    )
    agreements: list[AgreementSettings] = Field(
        default_factory=list,
        description="agreements by company, department or contact; the first that covers a "
        "ticket wins (contact before department before company)",
    )
    supervisors: list[str] = Field(
        default_factory=list, description="agents told about breaches and escalations"
    )
    tick_seconds: float = Field(
        default=5.0, gt=0, description="how often the escalator looks for due timers"
    )
    batch_size: int = Field(default=200, ge=1, le=5000, description="due timers per tick")
    recompute_batch_size: int = Field(
        default=1000, ge=1, le=10000, description="tickets per batch after a policy change"
    )

    @model_validator(mode="after")
    def _references(self) -> SlaSettings:
        ids = [calendar.id for calendar in self.calendars]
        if len(ids) != len(set(ids)) or ROUND_THE_CLOCK in ids:
            msg = f"calendars: ids must be unique and not {ROUND_THE_CLOCK!r} (built in)"
            raise ValueError(msg)
        known = {*ids, ROUND_THE_CLOCK}
        agreements = [self.base, *self.agreements]
        if len({a.id for a in agreements}) != len(agreements):
            msg = "agreements: ids must be unique (and differ from the base agreement's)"
            raise ValueError(msg)
        for index, agreement in enumerate(agreements):
            where = "base" if index == 0 else f"agreements.{index - 1}"
            if agreement.calendar not in known:
                msg = f"{where}.calendar: unknown calendar {agreement.calendar!r}"
                raise ValueError(msg)
            if index and not (agreement.companies or agreement.departments or agreement.contacts):
                msg = f"{where}: name the companies, departments or contacts it covers"
                raise ValueError(msg)
        return self


__all__ = [
    "BASE_AGREEMENT",
    "ROUND_THE_CLOCK",
    "WEEKDAYS",
    "AgreementSettings",
    "CalendarSettings",
    "LadderStep",
    "RequesterTimers",
    "RuleSettings",
    "SlaSettings",
    "TargetSettings",
]
