"""Business-time arithmetic: exact at every boundary, over breaks, holidays and DST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sla.calendar import BusinessCalendar, BusinessDuration, parse_duration, parse_weekdays
from sla.policy import build_calendar
from sla.settings import CalendarSettings

MOSCOW = ZoneInfo("Europe/Moscow")
RU = holidays.country_holidays("RU", years=range(2024, 2029))
BERLIN = ZoneInfo("Europe/Berlin")


def office(zone: str = "Europe/Moscow", **extra: object) -> BusinessCalendar:
    return build_calendar(
        CalendarSettings(
            id="office",
            timezone=zone,
            hours={"mon-fri": ["09:00-18:00"]},
            breaks=["13:00-14:00"],
            **extra,
        )
    )


# Night shifts across DST changes: the Berlin clock jumps 02:00→03:00 and 03:00→02:00.
def night_shift() -> BusinessCalendar:
    return build_calendar(
        CalendarSettings(
            id="night",
            timezone="Europe/Berlin",
            hours={"mon-sun": ["00:00-04:00", "22:00-24:00"]},
            holidays_country=None,
        )
    )


CALENDARS = {
    "moscow": office(),
    "berlin": office("Europe/Berlin", holidays_country="DE"),
    "night": night_shift(),
    "24x7": BusinessCalendar(),
}

moments = st.datetimes(
    min_value=datetime(2024, 1, 1),  # noqa: DTZ001 - hypothesis wants naive bounds
    max_value=datetime(2027, 12, 31),  # noqa: DTZ001
    timezones=st.just(UTC),
)
durations = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=40))
calendar_names = st.sampled_from(sorted(CALENDARS))


def local(zone: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=zone).astimezone(UTC)  # type: ignore[arg-type, misc]


@settings(max_examples=400, deadline=None)
@given(name=calendar_names, start=moments, duration=durations)
def test_elapsed_after_add_is_the_duration_when_any(
    name: str, start: datetime, duration: timedelta
) -> None:
    calendar = CALENDARS[name]
    assert calendar.elapsed(start, calendar.add(start, duration)) == duration


@settings(max_examples=300, deadline=None)
@given(name=calendar_names, start=moments, first=durations, second=durations)
def test_add_is_monotonic_and_additive_when_any(
    name: str, start: datetime, first: timedelta, second: timedelta
) -> None:
    calendar = CALENDARS[name]
    low, high = sorted((first, second))
    assert calendar.add(start, low) <= calendar.add(start, high)
    # Adding in two steps lands where adding at once does (when the first ends at work).
    middle = calendar.add(start, low)
    assert calendar.add(middle, high - low) == calendar.add(start, high)


@settings(max_examples=300, deadline=None)
@given(
    name=calendar_names,
    start=moments,
    many=st.lists(
        st.timedeltas(min_value=timedelta(days=-1), max_value=timedelta(days=40)), max_size=6
    ),
)
def test_add_many_lands_where_each_add_does_when_any(
    name: str, start: datetime, many: list[timedelta]
) -> None:
    calendar = CALENDARS[name]
    assert calendar.add_many(start, many) == [calendar.add(start, d) for d in many]


@settings(max_examples=300, deadline=None)
@given(
    name=calendar_names,
    start=moments,
    after=st.timedeltas(min_value=timedelta(days=-2), max_value=timedelta(days=60)),
    many=st.lists(
        st.timedeltas(min_value=timedelta(days=-1), max_value=timedelta(days=40)),
        max_size=5,
    ),
)
def test_progress_counts_the_spans_that_add_puts_by_now_when_any(
    name: str, start: datetime, after: timedelta, many: list[timedelta]
) -> None:
    calendar = CALENDARS[name]
    spans, now = sorted(many), start + after
    passed, moments = calendar.progress(start, now, spans)
    ends = calendar.add_many(start, spans)
    assert passed == sum(end <= now for end in ends)
    assert moments == ends[max(passed - 1, 0) : passed + 1]


@settings(max_examples=300, deadline=None)
@given(name=calendar_names, start=moments, a=durations, b=durations)
def test_elapsed_is_monotonic_in_the_end_when_any(
    name: str, start: datetime, a: timedelta, b: timedelta
) -> None:
    calendar = CALENDARS[name]
    first, second = sorted((start + a, start + b))
    assert calendar.elapsed(start, first) <= calendar.elapsed(start, second)
    assert calendar.elapsed(start, second) <= second - start


@settings(max_examples=300, deadline=None)
@given(name=calendar_names, start=moments, duration=durations)
def test_add_never_ends_outside_working_time_when_positive(
    name: str, start: datetime, duration: timedelta
) -> None:
    calendar = CALENDARS[name]
    if duration <= timedelta(0):
        return
    end = calendar.add(start, duration)
    # The last instant counted lies in working time (the end itself may close an interval).
    assert calendar.is_working(end - timedelta(microseconds=1))


@settings(max_examples=200, deadline=None)
@given(start=moments, duration=durations)
def test_breaks_weekends_and_holidays_are_never_counted_when_moscow(
    start: datetime, duration: timedelta
) -> None:
    calendar = CALENDARS["moscow"]
    end = calendar.add(start, duration)
    step = timedelta(minutes=30)
    moment = start.replace(minute=15 if start.minute < 30 else 45, second=0, microsecond=0)
    while moment < end:
        wall = moment.astimezone(MOSCOW)
        if calendar.is_working(moment):
            assert wall.weekday() < 5 or wall.date() in RU.weekend_workdays
            assert wall.hour != 13
            assert 9 <= wall.hour < 18
            assert wall.date() not in RU
        moment += step


def test_add_ends_at_the_interval_end_when_budget_runs_out_there() -> None:
    calendar = CALENDARS["moscow"]
    monday_9 = local(MOSCOW, 2026, 3, 2, 9)
    assert calendar.add(monday_9, timedelta(hours=4)) == local(MOSCOW, 2026, 3, 2, 13)
    assert calendar.add(monday_9, timedelta(hours=4, seconds=1)) == local(
        MOSCOW, 2026, 3, 2, 14, 0, 1
    )
    assert calendar.add(monday_9, timedelta(hours=8)) == local(MOSCOW, 2026, 3, 2, 18)


def test_add_many_keeps_the_order_and_the_interval_ends_when_a_ladder() -> None:
    calendar = CALENDARS["moscow"]
    monday_9 = local(MOSCOW, 2026, 3, 2, 9)
    hours = [timedelta(hours=h) for h in (6, 3, 4, 0)]
    assert calendar.add_many(monday_9, hours) == [
        local(MOSCOW, 2026, 3, 2, 16),
        local(MOSCOW, 2026, 3, 2, 12),
        local(MOSCOW, 2026, 3, 2, 13),
        monday_9,
    ]


def test_add_skips_the_weekend_when_friday_evening() -> None:
    calendar = CALENDARS["moscow"]
    friday_17 = local(MOSCOW, 2026, 3, 13, 17)
    assert calendar.add(friday_17, timedelta(hours=2)) == local(MOSCOW, 2026, 3, 16, 10)
    assert calendar.elapsed(friday_17, local(MOSCOW, 2026, 3, 16, 10)) == timedelta(hours=2)


def test_start_outside_hours_counts_from_the_next_opening_when_night() -> None:
    calendar = CALENDARS["moscow"]
    tuesday_3am = local(MOSCOW, 2026, 3, 3, 3)
    assert calendar.add(tuesday_3am, timedelta(minutes=30)) == local(MOSCOW, 2026, 3, 3, 9, 30)


def test_russian_holidays_and_transferred_working_day_when_autumn_2025() -> None:
    calendar = CALENDARS["moscow"]
    # Fri 31 Oct 17:00 + 2 h: Sat 1 Nov 2025 is a working day, Mon 3 and Tue 4 Nov are off.
    friday = local(MOSCOW, 2025, 10, 31, 17)
    assert calendar.add(friday, timedelta(hours=2)) == local(MOSCOW, 2025, 11, 1, 10)
    saturday_evening = local(MOSCOW, 2025, 11, 1, 17)
    assert calendar.add(saturday_evening, timedelta(hours=2)) == local(MOSCOW, 2025, 11, 5, 10)


def test_new_year_holidays_are_skipped_when_moscow() -> None:
    calendar = CALENDARS["moscow"]
    dec_31 = local(MOSCOW, 2025, 12, 30, 17)
    # 31 Dec 2025 is a transferred day off; 1–8 Jan 2026 are holidays, 9 Jan transferred.
    assert calendar.add(dec_31, timedelta(hours=2)) == local(MOSCOW, 2026, 1, 12, 10)


def test_configured_dates_add_and_remove_days_off_when_given() -> None:
    calendar = office(
        holidays_added=[date(2026, 3, 3)],
        holidays_removed=[date(2026, 3, 9)],
        working_days_added=[date(2026, 3, 7)],
    )
    assert calendar.elapsed(local(MOSCOW, 2026, 3, 3), local(MOSCOW, 2026, 3, 4)) == timedelta(0)
    assert calendar.elapsed(local(MOSCOW, 2026, 3, 9), local(MOSCOW, 2026, 3, 10)) == timedelta(
        hours=8
    )
    assert calendar.elapsed(local(MOSCOW, 2026, 3, 7), local(MOSCOW, 2026, 3, 8)) == timedelta(
        hours=8
    )
    # Without the removal, 9 Mar 2026 is the observed Women's Day.
    assert CALENDARS["moscow"].elapsed(
        local(MOSCOW, 2026, 3, 9), local(MOSCOW, 2026, 3, 10)
    ) == timedelta(0)


def test_dst_nights_are_as_long_as_the_wall_clock_says_when_berlin() -> None:
    calendar = CALENDARS["night"]
    # 29 Mar 2026: 02:00 → 03:00; the 00:00–04:00 shift lasts 3 real hours.
    spring = calendar.elapsed(local(BERLIN, 2026, 3, 29, 0), local(BERLIN, 2026, 3, 29, 5))
    assert spring == timedelta(hours=3)
    # 25 Oct 2026: 03:00 → 02:00; the same shift lasts 5 real hours.
    autumn = calendar.elapsed(local(BERLIN, 2026, 10, 25, 0), local(BERLIN, 2026, 10, 25, 5))
    assert autumn == timedelta(hours=5)
    start = local(BERLIN, 2026, 3, 28, 23)  # Sat 23:00 CET: an hour today, an hour tomorrow
    assert calendar.add(start, timedelta(hours=2)) == local(BERLIN, 2026, 3, 29, 1)
    assert calendar.add(start, timedelta(hours=4)) == local(BERLIN, 2026, 3, 29, 4)


def test_working_day_hours_follow_the_zone_across_dst_when_berlin_office() -> None:
    calendar = CALENDARS["berlin"]
    before = local(BERLIN, 2026, 3, 27, 9)  # Friday, CET (UTC+1)
    after = calendar.add(before, timedelta(hours=8, minutes=30))  # Monday 09:30 CEST
    assert after == local(BERLIN, 2026, 3, 30, 9, 30)
    assert after == datetime(2026, 3, 30, 7, 30, tzinfo=UTC)


def test_durations_read_business_days_of_the_calendar_when_d() -> None:
    assert parse_duration("2d") == BusinessDuration(days=2)
    assert parse_duration("1d4h30m15s") == BusinessDuration(
        days=1, time=timedelta(hours=4, minutes=30, seconds=15)
    )
    assert CALENDARS["moscow"].span(parse_duration("2d")) == timedelta(hours=16)
    assert CALENDARS["24x7"].span(parse_duration("2d")) == timedelta(hours=48)
    monday_10 = local(MOSCOW, 2026, 3, 2, 10)
    two_days = CALENDARS["moscow"].span(parse_duration("2d"))
    assert CALENDARS["moscow"].add(monday_10, two_days) == local(MOSCOW, 2026, 3, 4, 10)


@pytest.mark.parametrize("text", ["", "5", "2x", "h", "0s", "1h2d", "-1h"])
def test_bad_duration_is_rejected_when_malformed(text: str) -> None:
    with pytest.raises(ValueError, match=r"duration|zero"):
        parse_duration(text)


def test_weekday_ranges_wrap_when_given_backwards() -> None:
    assert parse_weekdays("mon-fri") == (0, 1, 2, 3, 4)
    assert parse_weekdays("fri-mon") == (4, 5, 6, 0)
    with pytest.raises(ValueError, match="weekday"):
        parse_weekdays("moon")


def test_naive_moments_are_rejected_when_given() -> None:
    with pytest.raises(ValueError, match="aware"):
        BusinessCalendar().add(datetime(2026, 1, 1), timedelta(hours=1))  # noqa: DTZ001


class _EveryDay:
    def __contains__(self, day: object) -> bool:
        return True


def test_add_gives_up_when_no_working_time_for_years() -> None:
    calendar = BusinessCalendar(
        zone="Europe/Moscow", week={0: [(540, 1080)]}, holidays=_EveryDay(), name="closed"
    )
    with pytest.raises(ValueError, match="no working time"):
        calendar.add(datetime(2026, 3, 2, tzinfo=UTC), timedelta(hours=1))
