"""The JSON API for machine clients (the CPAM information system) and scripts.

Authentication is by bearer token only (never the session cookie), so CSRF does not apply.
Errors are RFC 9457 problem+json documents.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, g, jsonify, request

from app.db import get_session
from app.errors import problem
from registry.accounts import Role
from registry.api_tokens import user_for_token
from registry.errors import DomainError, FieldError, ValidationFailed
from registry.text import NUL, leaves

blueprint = Blueprint("api", __name__)


@blueprint.before_request
def _authenticate():
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return problem(401)
    db = get_session()
    user = user_for_token(db, token.strip())
    if user is None:
        return problem(401, "Jeton d'API invalide ou révoqué.")
    db.commit()
    g.api_user = user
    return None


def roles(*allowed: Role) -> Callable:
    """Restricts an API endpoint to tokens of users holding one of `allowed`."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            if g.api_user.role not in allowed:
                return problem(403)
            return view(*args, **kwargs)

        wrapper.allowed_roles = frozenset(allowed)
        return wrapper

    return decorate


@blueprint.get("/me")
@roles(*Role)
def me():
    user = g.api_user
    return jsonify(id=user.id, email=user.email, name=user.name, role=user.role)


def json_body() -> Any:
    """The request's JSON document; a body that is not JSON, or not sent as JSON, is a 400
    naming the problem."""
    if not request.is_json:
        raise DomainError(
            "Le corps de la requête doit être un document JSON, envoyé avec l'en-tête "
            "Content-Type: application/json."
        )
    body = request.get_json(silent=True)
    if body is None:
        raise DomainError("Le corps de la requête doit être un document JSON valide.")
    return checked(body)


def checked(body: Any) -> Any:
    """`body`, unless it has a null (a field is left out by omitting it) or a text holding a
    NUL character (no database keeps it): a 422 naming each such field."""
    errors: dict[str, str] = {}
    for path, value in leaves(body):
        if value is None:
            errors.setdefault(path, "Valeur nulle : omettez ce champ ou donnez-lui une valeur.")
        elif isinstance(value, str) and NUL in value:
            errors.setdefault(path, "Le caractère nul (U+0000) n'est pas admis dans un texte.")
    if errors:
        raise ValidationFailed([FieldError(path, message) for path, message in errors.items()])
    return body
