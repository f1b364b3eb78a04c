"""French public holidays (jours fériés), for the Sunday and public-holiday majoration (F).

The national list (Code du travail, art. L3133-1), Easter's movable feasts computed, the two
extra days of Alsace-Moselle (Good Friday, 26 December; departments 57, 67, 68) and the
commemoration of the abolition of slavery in each overseas department (décret n° 83-1003)."""

from datetime import date, timedelta
from functools import lru_cache

ALSACE_MOSELLE = ("57", "67", "68")
# Abolition of slavery, per overseas department: (month, day).
ABOLITION = {
    "971": (5, 27),  # Guadeloupe
    "972": (5, 22),  # Martinique
    "973": (6, 10),  # Guyane
    "974": (12, 20),  # La Réunion
    "976": (4, 27),  # Mayotte
}


def easter(year: int) -> date:
    """Easter Sunday in the Gregorian calendar (the anonymous algorithm, Meeus/Jones/Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l = (32 + 2 * e + 2 * i - h - k) % 7  # noqa: E741 (the algorithm's own name)
    m = (a + 11 * h + 22 * l) // 451
    month, day = divmod(h + l - 7 * m + 114, 31)
    return date(year, month, day + 1)


@lru_cache(maxsize=256)
def public_holidays(year: int, department: str) -> dict[date, str]:
    """Every public holiday of `year` in `department` (INSEE code: "09", "2A", "971"…)."""
    sunday = easter(year)
    days = {
        date(year, 1, 1): "Jour de l'an",
        sunday + timedelta(days=1): "Lundi de Pâques",
        date(year, 5, 1): "Fête du Travail",
        date(year, 5, 8): "Victoire 1945",
        sunday + timedelta(days=39): "Ascension",
        sunday + timedelta(days=50): "Lundi de Pentecôte",
        date(year, 7, 14): "Fête nationale",
        date(year, 8, 15): "Assomption",
        date(year, 11, 1): "Toussaint",
        date(year, 11, 11): "Armistice 1918",
        date(year, 12, 25): "Noël",
    }
    if department in ALSACE_MOSELLE:
        days[sunday - timedelta(days=2)] = "Vendredi saint"
        days[date(year, 12, 26)] = "Saint-Étienne"
    if department in ABOLITION:
        month, day = ABOLITION[department]
        days[date(year, month, day)] = "Abolition de l'esclavage"
    return days


def holiday_name(day: date, department: str) -> str | None:
    """The holiday's name when `day` is a public holiday in `department`, else None."""
    return public_holidays(day.year, department).get(day)


def is_sunday_or_holiday(day: date, department: str) -> bool:
    return day.weekday() == 6 or holiday_name(day, department) is not None
