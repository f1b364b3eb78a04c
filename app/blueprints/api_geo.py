"""JSON API for geography: commune autocomplete by name or postal code."""

from flask import jsonify, request

from app.blueprints.api import blueprint, roles
from app.geocoding import commune_choices
from registry.accounts import Role
from registry.errors import invalid


@blueprint.get("/geo/communes")
@roles(*Role)
def communes():
    text = request.args.get("q", "").strip()
    if len(text) < 2:
        invalid("q", "Tapez au moins 2 caractères (nom ou code postal).")
    return jsonify(items=commune_choices(text))
