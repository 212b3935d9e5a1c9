"""A calendar's working intervals laid end to end, for business-time arithmetic by bisection.

Walking day by day costs a loop per working interval crossed; a tick or a recompute does that
for every ticket and every ladder step. Here the intervals of a window of local days sit in
flat lists with the business time accumulated up to each one, so "where is this moment in
business time" and "which moment is that far in" are one bisection each, whatever the span.

The lists hold UTC datetimes and timedeltas themselves: both are exact whole microseconds, and
comparing or adding them costs less than converting every moment to an integer and back (a
tick converts thousands).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable
from datetime import date, datetime, timedelta

# Days laid out beyond the asked-for ones, so neighbouring questions need no rebuild.
_MARGIN = timedelta(days=62)
_ZERO = timedelta(0)

Interval = tuple[datetime, datetime]


class Timeline:
    """The working intervals of a window of local days, with their running business total.

    Moments given to it are aware UTC datetimes (:func:`sla.calendar._utc`), so they compare
    with the intervals field by field.

    Args:
        intervals: the working intervals of one local day (UTC, sorted, disjoint, inside the
            day), as :meth:`sla.calendar.BusinessCalendar.intervals` gives them.
    """

    def __init__(self, intervals: Callable[[date], tuple[Interval, ...]]) -> None:
        self._intervals = intervals
        self.first: date | None = None
        self.last: date | None = None
        self._opens: list[datetime] = []
        self._ends: list[datetime] = []
        self._before: list[timedelta] = []  # business time up to each opening
        self._through: list[timedelta] = []  # … up to each end
        self._low: datetime | None = None
        self._high: datetime | None = None

    def cover(self, first: date, last: date) -> None:
        """Make sure the local days ``first`` … ``last`` are laid out."""
        if self.first is not None and self.last is not None:
            if self.first <= first and last <= self.last:
                return
            # Grow only the side asked for (positions count from the window's first day).
            first = self.first if self.first <= first else first - _MARGIN
            last = self.last if last <= self.last else last + _MARGIN
        else:
            first, last = first - _MARGIN, last + _MARGIN
        opens: list[datetime] = []
        ends: list[datetime] = []
        before: list[timedelta] = []
        through: list[timedelta] = []
        total, day = _ZERO, first
        while day <= last:
            for begin, end in self._intervals(day):
                opens.append(begin)
                ends.append(end)
                before.append(total)
                total += end - begin
                through.append(total)
            day += timedelta(days=1)
        self.first, self.last = first, last
        self._opens, self._ends, self._before, self._through = opens, ends, before, through
        # The covered days as moments: the first day's first interval opens no earlier than
        # its midnight, so anything from the first opening to the last end is covered.
        self._low = opens[0] if opens else None
        self._high = ends[-1] if ends else None

    def holds(self, at: datetime) -> bool:
        """Whether ``at`` lies between the first and the last covered working moment."""
        return self._low is not None and self._high is not None and self._low <= at <= self._high

    def position(self, at: datetime) -> timedelta:
        """Business time from the window's start to ``at`` (inside the covered days)."""
        index = bisect_right(self._opens, at) - 1
        if index < 0:
            return _ZERO
        return self._before[index] + (min(at, self._ends[index]) - self._opens[index])

    def reach(self, target: timedelta) -> datetime | None:
        """The first moment at which ``target`` business time is used up; None when it lies
        beyond the covered days. A target met exactly at an interval's end ends there."""
        index = bisect_left(self._through, target)
        if index == len(self._through):
            return None
        return self._opens[index] + (target - self._before[index])

    def is_working(self, at: datetime) -> bool:
        index = bisect_right(self._opens, at) - 1
        return index >= 0 and at < self._ends[index]
