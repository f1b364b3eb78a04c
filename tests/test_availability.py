"""Availability in the practice's local time: weekly windows, exceptions, daylight saving."""

import itertools
from datetime import UTC, date, datetime, time, timedelta

from hypothesis import given
from hypothesis import strategies as st

from registry.nurses.availability import open_intervals
from registry.nurses.models import AvailabilityWindow

MONDAY = date(2021, 2, 1)


def weekly(day: int, start: str, end: str) -> AvailabilityWindow:
    return AvailabilityWindow(
        nurse_id=1,
        weekday=day,
        start_time=time.fromisoformat(start),
        end_time=time.fromisoformat(end),
    )


def dated(on: date, start: str | None = None, end: str | None = None, unavailable=False):
    return AvailabilityWindow(
        nurse_id=1,
        on_date=on,
        start_time=time.fromisoformat(start) if start else None,
        end_time=time.fromisoformat(end) if end else None,
        unavailable=unavailable,
    )


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_a_monday_afternoon_in_paris_in_winter_is_one_hour_ahead_of_utc():
    intervals = open_intervals(
        [weekly(0, "14:00", "18:00")], "Europe/Paris", utc(2021, 2, 1), utc(2021, 2, 2)
    )
    assert intervals == [(utc(2021, 2, 1, 13), utc(2021, 2, 1, 17))]


def test_in_summer_paris_is_two_hours_ahead():
    intervals = open_intervals(
        [weekly(0, "14:00", "18:00")], "Europe/Paris", utc(2021, 7, 5), utc(2021, 7, 6)
    )
    assert intervals == [(utc(2021, 7, 5, 12), utc(2021, 7, 5, 16))]


def test_guadeloupe_hours_are_read_in_guadeloupe_time():
    intervals = open_intervals(
        [weekly(0, "08:00", "12:00")], "America/Guadeloupe", utc(2021, 2, 1), utc(2021, 2, 2)
    )
    assert intervals == [(utc(2021, 2, 1, 12), utc(2021, 2, 1, 16))]


def test_a_whole_day_absence_cancels_the_weekly_window():
    windows = [weekly(0, "14:00", "18:00"), dated(MONDAY, unavailable=True)]
    assert open_intervals(windows, "Europe/Paris", utc(2021, 2, 1), utc(2021, 2, 2)) == []


def test_a_partial_absence_cuts_the_window_and_an_extra_window_adds_to_it():
    windows = [
        weekly(0, "08:00", "18:00"),
        dated(MONDAY, "12:00", "14:00", unavailable=True),
        dated(MONDAY, "19:00", "20:00"),
    ]
    intervals = open_intervals(windows, "Europe/Paris", utc(2021, 2, 1), utc(2021, 2, 2))
    assert intervals == [
        (utc(2021, 2, 1, 7), utc(2021, 2, 1, 11)),
        (utc(2021, 2, 1, 13), utc(2021, 2, 1, 17)),
        (utc(2021, 2, 1, 18), utc(2021, 2, 1, 19)),
    ]


def test_the_result_is_clipped_to_the_asked_interval():
    intervals = open_intervals(
        [weekly(0, "14:00", "18:00")], "Europe/Paris", utc(2021, 2, 1, 15), utc(2021, 2, 1, 16)
    )
    assert intervals == [(utc(2021, 2, 1, 15), utc(2021, 2, 1, 16))]


@given(
    st.lists(st.tuples(st.integers(0, 6), st.integers(0, 22), st.integers(1, 10)), max_size=8),
    st.integers(0, 200),
    st.integers(1, 72),
)
def test_intervals_are_sorted_disjoint_and_inside_the_asked_interval(specs, offset_hours, hours):
    windows = [
        weekly(day, f"{start:02d}:00", f"{min(start + length, 23):02d}:59")
        for day, start, length in specs
    ]
    # Around the spring change of time (28 March 2021).
    start = datetime(2021, 3, 24, tzinfo=UTC) + timedelta(hours=offset_hours)
    end = start + timedelta(hours=hours)
    intervals = open_intervals(windows, "Europe/Paris", start, end)
    for a, b in intervals:
        assert start <= a < b <= end
    for (_, b1), (a2, _) in itertools.pairwise(intervals):
        assert b1 < a2
