"""A calendar's working intervals laid end to end, for business-time arithmetic by bisection.

Walking day by day costs a loop per working interval crossed; a tick or a recompute does that
for every ticket and every ladder step. Here the intervals of a window of local days sit in
flat lists with the business time accumulated up to each one, so "where is this moment in
business time" and "which moment is that far in" are one bisection each, whatever the span.
Integer microseconds keep it exact: ``datetime`` and ``timedelta`` are whole microseconds too.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
# Days laid out beyond the asked-for ones, so neighbouring questions need no rebuild.
_MARGIN = timedelta(days=62)

Interval = tuple[datetime, datetime]


def micros(moment: datetime) -> int:
    """An aware moment as microseconds since the epoch."""
    return (moment - _EPOCH) // _MICROSECOND


def from_micros(value: int) -> datetime:
    """The inverse of :func:`micros`, in UTC."""
    return _EPOCH + timedelta(microseconds=value)


class Timeline:
    """The working intervals of a window of local days, with their running business total.

    Args:
        intervals: the working intervals of one local day (UTC, sorted, disjoint, inside the
            day), as :meth:`sla.calendar.BusinessCalendar.intervals` gives them.
    """

    def __init__(self, intervals: Callable[[date], tuple[Interval, ...]]) -> None:
        self._intervals = intervals
        self.first: date | None = None
        self.last: date | None = None
        self._opens: list[int] = []
        self._ends: list[int] = []
        self._before: list[int] = []  # business time up to each opening
        self._through: list[int] = []  # … up to each end
        self._low, self._high = 0, -1

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
        opens, ends, before, through = [], [], [], []
        total, day = 0, first
        while day <= last:
            for begin, end in self._intervals(day):
                low, high = micros(begin), micros(end)
                opens.append(low)
                ends.append(high)
                before.append(total)
                total += high - low
                through.append(total)
            day += timedelta(days=1)
        self.first, self.last = first, last
        self._opens, self._ends, self._before, self._through = opens, ends, before, through
        # The covered days as moments: the first day's first interval opens no earlier than
        # its midnight, so anything from the first opening to the last end is covered.
        self._low = opens[0] if opens else 0
        self._high = ends[-1] if ends else -1

    def holds(self, at: int) -> bool:
        """Whether ``at`` lies between the first and the last covered working moment."""
        return self._low <= at <= self._high

    def position(self, at: int) -> int:
        """Business time from the window's start to ``at`` (inside the covered days)."""
        index = bisect_right(self._opens, at) - 1
        if index < 0:
            return 0
        return self._before[index] + min(at, self._ends[index]) - self._opens[index]

    def reach(self, target: int) -> int | None:
        """The first moment at which ``target`` business time is used up; None when it lies
        beyond the covered days. A target met exactly at an interval's end ends there."""
        index = bisect_left(self._through, target)
        if index == len(self._through):
            return None
        return self._opens[index] + target - self._before[index]

    def is_working(self, at: int) -> bool:
        index = bisect_right(self._opens, at) - 1
        return index >= 0 and at < self._ends[index]
