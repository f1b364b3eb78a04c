"""Bridges between the nurse pages' forms and the registry's input format, both ways: a form
becomes the same document the API receives, and the services' field errors land on the form."""

import re
from typing import Any

from flask import flash
from flask_wtf import FlaskForm

from registry.errors import FieldError, ValidationFailed
from registry.geo import GeocodeQuery, Geocoder, GeocodingFailed
from registry.nurses.schema import INSEE_PATTERN

# Service field path (prefix) → form field name.
FORM_FIELDS = {
    "practice.street": "street",
    "practice.postal_code": "postal_code",
    "practice.commune": "commune",
    "sector.radius_km": "radius_km",
    "sector.communes": "sector_communes",
    "sector": "radius_km",
    "skills": "skills",
    "languages": "languages",
}


def capabilities_document(form: FlaskForm, geocoder: Geocoder) -> dict[str, Any]:
    """Sector, skills, languages and load from the form, in the API's input shape; the sector
    lines are resolved to INSEE codes first (ValidationFailed naming the bad lines)."""
    communes = resolve_commune_lines(form.sector_communes.data or "", geocoder)
    radius = form.radius_km.data
    return {
        "sector": {
            "radius_km": float(radius) if radius is not None else None,
            "communes": communes,
        },
        "skills": form.skills.data or [],
        "languages": form.languages.data or [],
        "max_visits_per_day": form.max_visits_per_day.data,
        "mountain": bool(form.mountain.data),
    }


def resolve_commune_lines(text: str, geocoder: Geocoder) -> list[str]:
    """One commune per line, as an INSEE code or "postal code + name", to INSEE codes."""
    codes, problems = [], []
    for number, line in enumerate(text.splitlines(), 1):
        line = " ".join(line.split())
        if not line:
            continue
        if INSEE_PATTERN.match(line.upper()):
            codes.append(line.upper())
            continue
        match = re.fullmatch(r"(\d{5})\s*(.*)", line)
        if not match:
            problems.append(
                FieldError(
                    "sector.communes", f"Ligne {number} « {line} » : commencez par le code postal."
                )
            )
            continue
        try:
            place = geocoder.geocode(GeocodeQuery(postal_code=match[1], commune=match[2]))
        except GeocodingFailed as failure:
            suggestions = [suggestion.label for suggestion in failure.suggestions]
            problems.append(
                FieldError("sector.communes", f"Ligne {number} : {failure.message}", suggestions)
            )
        else:
            codes.append(place.insee)
    if problems:
        raise ValidationFailed(problems)
    return codes


def show_errors(form: FlaskForm, error: ValidationFailed) -> None:
    """Puts each field error under its form field, or at the top of the page."""
    for field_error in error.errors:
        name = _form_field(field_error.field)
        message = field_error.message
        if field_error.suggestions:
            message += " Suggestions : " + ", ".join(field_error.suggestions) + "."
        field = getattr(form, name, None) if name else None
        if field is not None:
            field.errors = [*field.errors, message]
        else:
            flash(message, "error")


def _form_field(path: str) -> str | None:
    for prefix, name in FORM_FIELDS.items():
        if path == prefix or path.startswith(prefix + "["):
            return name
    return re.sub(r"\[\d+\]$", "", path) or None
