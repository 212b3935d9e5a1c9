"""Business-time arithmetic: when the SLA clock runs, and how far it gets.

Pure: a calendar is built from its hours, breaks and holidays and then only computes. Business
time is *real* elapsed time inside working intervals, so a working day that spans a DST change
is an hour shorter or longer, exactly as the people working it live it. Working intervals are
kept in UTC: aware datetimes in one ``ZoneInfo`` subtract as wall-clock times, which is wrong
across a DST change.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from sla.timeline import Timeline

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_CLOCK_RANGE = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")
_MINUTES_PER_DAY = 24 * 60
# Enough for any real calendar's longest run of days off; a bound keeps a bad one from hanging.
_MAX_DAYS_SCANNED = 3 * 366
ZERO = timedelta(0)

Interval = tuple[datetime, datetime]
MinuteRange = tuple[int, int]


class HolidaySource(Protocol):
    """What the ``holidays`` package offers: ``date in source`` and weekend working days."""

    def __contains__(self, key: object) -> bool: ...


@dataclass(frozen=True, slots=True)
class BusinessDuration:
    """A configured duration: whole business days of a calendar plus plain time."""

    days: int = 0
    time: timedelta = ZERO


def parse_duration(text: str) -> BusinessDuration:
    """``"30s"``, ``"45m"``, ``"4h"``, ``"2d"``, ``"1d4h30m"``: d = business days.

    Raises:
        ValueError: anything else, or a zero duration.
    """
    match = _DURATION.match(text.strip())
    if not text.strip() or match is None:
        msg = f"{text!r} is not a duration like 30s, 45m, 4h, 2d or 1d4h"
        raise ValueError(msg)
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    duration = BusinessDuration(
        days=days, time=timedelta(hours=hours, minutes=minutes, seconds=seconds)
    )
    if duration == BusinessDuration():
        msg = f"{text!r} is zero; leave the timer out instead"
        raise ValueError(msg)
    return duration


def parse_clock_range(text: str) -> MinuteRange:
    """``"09:00-18:00"`` → minutes of the day ``(540, 1080)``; ``24:00`` ends a day.

    Raises:
        ValueError: malformed, out of range, or not increasing.
    """
    match = _CLOCK_RANGE.match(text.strip())
    if match is None:
        msg = f"{text!r} is not a time range like 09:00-18:00"
        raise ValueError(msg)
    h1, m1, h2, m2 = (int(part) for part in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if m1 > 59 or m2 > 59 or not 0 <= start < end <= _MINUTES_PER_DAY:
        msg = f"{text!r}: times must be 00:00–24:00 and the range must not be empty"
        raise ValueError(msg)
    return start, end


def parse_weekdays(text: str) -> tuple[int, ...]:
    """``"mon-fri"`` → ``(0, 1, 2, 3, 4)``; ``"sat"`` → ``(5,)``; ``"fri-mon"`` wraps.

    Raises:
        ValueError: an unknown day name.
    """
    parts = text.strip().lower().split("-")
    if len(parts) > 2 or any(part not in WEEKDAYS for part in parts):
        msg = f"{text!r} is not a weekday or a range like mon-fri"
        raise ValueError(msg)
    first, last = WEEKDAYS.index(parts[0]), WEEKDAYS.index(parts[-1])
    return tuple((first + offset) % 7 for offset in range((last - first) % 7 + 1))


def subtract(ranges: Sequence[MinuteRange], cuts: Sequence[MinuteRange]) -> list[MinuteRange]:
    """``ranges`` minus ``cuts``, merged and sorted (minutes of a day)."""
    result: list[MinuteRange] = []
    for start, end in sorted(ranges):
        pieces = [(start, end)]
        for cut_start, cut_end in cuts:
            pieces = [
                piece
                for s, e in pieces
                for piece in ((s, min(e, cut_start)), (max(s, cut_end), e))
                if piece[0] < piece[1]
            ]
        result.extend(pieces)
    merged: list[MinuteRange] = []
    for start, end in sorted(result):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


class BusinessCalendar:
    """Weekly working hours in a zone, minus holidays; or ``24x7`` when ``week`` is None.

    Args:
        zone: the IANA zone the hours are read in.
        week: working minute ranges per weekday (0 = Monday), breaks already cut out;
            None means round the clock (holidays do not apply then).
        holidays: days off (``date in holidays``), e.g. ``holidays.country_holidays("RU")``.
        working_days: weekend days that are worked, with the first working weekday's hours.
        name: for messages.
    """

    def __init__(
        self,
        *,
        zone: str = "UTC",
        week: Mapping[int, Sequence[MinuteRange]] | None = None,
        holidays: HolidaySource | Collection[date] = (),
        working_days: HolidaySource | Collection[date] = (),
        name: str = "",
    ) -> None:
        self.name = name
        self.zone = ZoneInfo(zone)
        self._week = None if week is None else {day: tuple(week.get(day, ())) for day in range(7)}
        self._holidays = holidays
        self._working_days = working_days
        self._cache: dict[date, tuple[Interval, ...]] = {}
        self._line = Timeline(self.intervals)
        if self._week is not None:
            workdays = [day for day in range(7) if self._week[day]]
            if not workdays:
                msg = f"calendar {name!r} has no working hours"
                raise ValueError(msg)
            self._extra_day = self._week[workdays[0]]
            self.day_length = timedelta(minutes=sum(end - start for start, end in self._extra_day))
        else:
            self.day_length = timedelta(days=1)

    @property
    def round_the_clock(self) -> bool:
        return self._week is None

    def span(self, duration: BusinessDuration) -> timedelta:
        """A configured duration as business time: days × this calendar's working day."""
        return duration.days * self.day_length + duration.time

    def intervals(self, day: date) -> tuple[Interval, ...]:
        """The working intervals of one local day, in UTC, sorted and disjoint."""
        cached = self._cache.get(day)
        if cached is None:
            cached = self._cache[day] = self._compute(day)
        return cached

    def _compute(self, day: date) -> tuple[Interval, ...]:
        assert self._week is not None  # noqa: S101 - 24x7 never asks
        if day in self._working_days:
            ranges = self._extra_day
        elif day in self._holidays:
            return ()
        else:
            ranges = self._week[day.weekday()]
        result: list[Interval] = []
        for start, end in ranges:
            # fold=0: a wall time inside a DST gap reads with the offset before the change, so
            # an interval that straddles the gap is as long as the clocks on the wall say.
            begin = self._instant(day, start)
            finish = self._instant(day, end)
            if finish > begin:
                result.append((begin, finish))
        return tuple(result)

    def _instant(self, day: date, minute: int) -> datetime:
        if minute == _MINUTES_PER_DAY:
            day, minute = day + timedelta(days=1), 0
        local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=self.zone)
        return local.astimezone(UTC)

    def _local_day(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The moment ``duration`` of business time after ``start``.

        A duration that runs out exactly at the end of a working interval ends there (not at
        the next opening). A zero or negative duration gives ``start`` itself.

        Raises:
            ValueError: ``start`` is naive, or no working time within three years.
        """
        start = _utc(start)
        if duration <= ZERO:
            return start
        if self._week is None:
            return start + duration
        return self._reach(start, (duration,))[0]

    def add_many(self, start: datetime, durations: Sequence[timedelta]) -> list[datetime]:
        """``[add(start, d) for d in durations]``, finding ``start`` in business time once
        (the ladder's steps, 75 %, 100 %, 150 % of a target, share their start).

        Raises:
            ValueError: ``start`` is naive, or no working time within three years.
        """
        start = _utc(start)
        if self._week is None:
            return [start + d if d > ZERO else start for d in durations]
        return self._reach(start, durations)

    def _reach(self, start: datetime, spans: Sequence[timedelta]) -> list[datetime]:
        """Where each span of business time from ``start`` (UTC) ends; ``start`` itself for a
        span that is not positive."""
        at, line = start, self._line
        if not line.holds(at):
            day = self._local_day(start)
            line.cover(day, day)
        base = line.position(at)
        result = []
        for span in spans:
            if span <= ZERO:
                result.append(at)
                continue
            while (found := line.reach(base + span)) is None:
                day = self._local_day(start)
                assert line.last is not None  # noqa: S101 - covered above
                if line.last - day > timedelta(days=_MAX_DAYS_SCANNED):
                    msg = f"calendar {self.name!r}: no working time in {_MAX_DAYS_SCANNED} days"
                    raise ValueError(msg)
                line.cover(day, line.last + timedelta(days=1))
                base = line.position(at)
            result.append(found)
        return result

    def progress(
        self, start: datetime, now: datetime, spans: Sequence[timedelta]
    ) -> tuple[int, list[datetime]]:
        """How many of ``spans`` (business times from ``start``, ascending) have run out by
        ``now``, and the moments the last of those and the first of the rest run out (as
        :meth:`add` gives them; one or two moments, none for no spans).

        A span runs out by ``now`` exactly when ``add(start, span) <= now``: the escalator asks
        this of every due ticket's ladder, and needs no moment of the steps in between.

        Raises:
            ValueError: a moment is naive, or no working time within three years.
        """
        start, now = _utc(start), _utc(now)
        passed = 0
        if start <= now:
            passed = bisect_right(spans, self.elapsed(start, now))
        return passed, self.add_many(start, spans[max(passed - 1, 0) : passed + 1])

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Business time between ``start`` and ``end`` (zero when ``end`` is not later)."""
        start, end = _utc(start), _utc(end)
        if end <= start:
            return ZERO
        if self._week is None:
            return end - start
        line = self._line
        if not (line.holds(start) and line.holds(end)):
            line.cover(self._local_day(start), self._local_day(end))
        return line.position(end) - line.position(start)

    def is_working(self, moment: datetime) -> bool:
        """Whether the clock runs at ``moment``."""
        moment = _utc(moment)
        if self._week is None:
            return True
        if not self._line.holds(moment):
            day = self._local_day(moment)
            self._line.cover(day, day)
        return self._line.is_working(moment)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is UTC:
        return moment  # as the database hands them back: no conversion (a tick makes many)
    if moment.tzinfo is None:
        msg = "business-time arithmetic needs aware datetimes"
        raise ValueError(msg)
    return moment.astimezone(UTC)


def weekly_hours(
    hours: Mapping[str, Sequence[str]], breaks: Sequence[str] = ()
) -> dict[int, list[MinuteRange]]:
    """Configured hours (``{"mon-fri": ["09:00-18:00"]}``) minus daily breaks, per weekday."""
    week: dict[int, list[MinuteRange]] = {day: [] for day in range(7)}
    for days, ranges in hours.items():
        for day in parse_weekdays(days):
            week[day].extend(parse_clock_range(text) for text in ranges)
    cuts = [parse_clock_range(text) for text in breaks]
    return {day: subtract(ranges, cuts) for day, ranges in week.items()}
