"""The public holidays that bring the Sunday and holiday majoration, checked against the
published calendars."""

from datetime import date

import pytest

from billing.holidays import easter, holiday_name, is_sunday_or_holiday, public_holidays


@pytest.mark.parametrize(
    ("year", "sunday"),
    [
        (2020, date(2020, 4, 12)),
        (2021, date(2021, 4, 4)),
        (2022, date(2022, 4, 17)),
        (2024, date(2024, 3, 31)),
        (2038, date(2038, 4, 25)),
        (2285, date(2285, 3, 22)),
    ],
)
def test_easter_falls_on_its_published_date(year, sunday):
    assert easter(year) == sunday


def test_the_2021_calendar_of_metropolitan_france():
    days = public_holidays(2021, "09")
    assert len(days) == 11
    assert days[date(2021, 4, 5)] == "Lundi de Pâques"
    assert days[date(2021, 5, 13)] == "Ascension"
    assert days[date(2021, 5, 24)] == "Lundi de Pentecôte"
    assert date(2021, 4, 2) not in days and date(2021, 12, 26) not in days


def test_alsace_moselle_adds_good_friday_and_saint_stephen():
    for department in ("57", "67", "68"):
        assert holiday_name(date(2021, 4, 2), department) == "Vendredi saint"
        assert holiday_name(date(2021, 12, 26), department) == "Saint-Étienne"
    assert holiday_name(date(2021, 4, 2), "54") is None


@pytest.mark.parametrize(
    ("department", "day"),
    [
        ("971", date(2021, 5, 27)),
        ("972", date(2021, 5, 22)),
        ("973", date(2021, 6, 10)),
        ("974", date(2021, 12, 20)),
        ("976", date(2021, 4, 27)),
    ],
)
def test_each_overseas_department_keeps_its_abolition_day(department, day):
    assert holiday_name(day, department) == "Abolition de l'esclavage"
    assert holiday_name(day, "09") is None


def test_sundays_and_holidays_bring_the_majoration_weekdays_do_not():
    assert is_sunday_or_holiday(date(2021, 3, 14), "09")  # a Sunday
    assert is_sunday_or_holiday(date(2021, 7, 14), "2A")  # a Wednesday, national day
    assert not is_sunday_or_holiday(date(2021, 3, 15), "09")
