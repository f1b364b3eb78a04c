"""Reading the billing lists' filters from a query string, the same way for pages and the API,
and sending a CSV export."""

from dataclasses import dataclass
from datetime import date

from flask import Response
from werkzeug.datastructures import MultiDict

from app import MAX_ROW_ID
from billing import records
from registry.errors import ErrorCollector, invalid
from registry.identifiers import INSEE_CODE, INSEE_EXPECTED


@dataclass(frozen=True)
class Period:
    start: date | None
    end: date | None


def _day(args: MultiDict, name: str, errors: ErrorCollector) -> date | None:
    text = (args.get(name) or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors.add(name, f"« {text} » n'est pas une date (AAAA-MM-JJ attendu).")
        return None


def period_of(args: MultiDict, start: str = "from", end: str = "to") -> Period:
    """`from` and `to` (inclusive), each optional; a bad date or an inverted period is a 422."""
    errors = ErrorCollector()
    period = Period(_day(args, start, errors), _day(args, end, errors))
    if period.start and period.end and period.start > period.end:
        errors.add(end, "La fin de la période précède son début.")
    errors.raise_if_any()
    return period


def month_of(args: MultiDict, today: date) -> date:
    """`month` as AAAA-MM (the current month when absent)."""
    text = (args.get("month") or "").strip()
    if not text:
        return today.replace(day=1)
    try:
        year, month = (int(part) for part in text.split("-"))
        return date(year, month, 1)
    except ValueError:
        errors = ErrorCollector()
        errors.add("month", f"« {text} » n'est pas un mois (AAAA-MM attendu).")
        errors.raise_if_any()
        raise


def nurse_filter(args: MultiDict) -> int | None:
    """`nurse`: the id of a nurse of the list, or nothing; any other text is a 422 in French
    (never a number the database cannot compare)."""
    text = (args.get("nurse") or "").strip()
    if not text:
        return None
    if not text.isdecimal() or not 0 < int(text) <= MAX_ROW_ID:
        invalid("nurse", f"« {text[:20]} » ne désigne aucun·e infirmier·e de la liste.")
    return int(text)


def records_query(args: MultiDict, *, nurse_id: int | None, cpam_code: str | None):
    """The billing records the filters `from`, `to` and `insee` select, within a nurse's or a
    CPAM's records; and the period read."""
    period = period_of(args)
    insee = (args.get("insee") or "").strip().upper()
    if insee and not INSEE_CODE.fullmatch(insee):
        invalid("insee", INSEE_EXPECTED)
    query = records.search(
        nurse_id=nurse_id,
        cpam_code=cpam_code,
        start=period.start,
        end=period.end,
        insee=insee or None,
    )
    return query, period


def csv_response(text: str, filename: str) -> Response:
    return Response(
        text.encode("utf-8"),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename={filename}"},
    )


CSV_FORMATS = ("fr", "excel", "point-virgule")


def wants_french(args: MultiDict) -> bool:
    """`format=fr`: `;`, decimal comma and JJ/MM/AAAA, as French spreadsheets open directly;
    no format, the plain CSV; any other is refused rather than silently ignored."""
    text = (args.get("format") or "").strip().lower()
    if text and text not in CSV_FORMATS:
        invalid("format", "Format inconnu : « fr » pour un tableur français, rien sinon.")
    return bool(text)
