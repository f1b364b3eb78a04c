"""JSON API for geography: commune autocomplete by name or postal code."""

from flask import jsonify, request

from app.blueprints.api import blueprint, roles
from registry.accounts import Role
from registry.errors import invalid
from registry.geo.communes import commune_directory


@blueprint.get("/geo/communes")
@roles(*Role)
def communes():
    text = request.args.get("q", "").strip()
    if len(text) < 2:
        invalid("q", "Tapez au moins 2 caractères (nom ou code postal).")
    return jsonify(
        items=[
            {
                "insee": commune.insee,
                "name": commune.name,
                "postal_codes": list(commune.postal_codes),
                "department": commune.department,
                "lat": commune.latitude,
                "lon": commune.longitude,
                "overseas": commune.overseas,
            }
            for commune in commune_directory().search(text[:100], limit=10)
        ]
    )
