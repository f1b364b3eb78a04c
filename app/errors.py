"""Errors as people and clients expect them: French HTML pages, and RFC 9457 problem+json for
the API; never a stack trace."""

import sqlalchemy as sa
from flask import Flask, Response, g, json, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from registry.errors import DomainError, FieldError, ValidationFailed
from registry.text import NUL

PROBLEM_TYPE = "application/problem+json"

TITLES = {
    400: "Requête invalide",
    401: "Authentification requise",
    403: "Accès refusé",
    404: "Introuvable",
    405: "Méthode non autorisée",
    409: "Conflit",
    413: "Contenu trop volumineux",
    415: "Type de contenu non pris en charge",
    422: "Données invalides",
    429: "Trop de requêtes",
    500: "Erreur interne",
    503: "Service indisponible",
}

DETAILS = {
    400: "La requête est invalide.",
    401: "Un jeton d'API valide est requis (en-tête Authorization: Bearer <jeton>).",
    403: "Votre rôle ne vous permet pas d'accéder à cette ressource.",
    404: "La ressource demandée n'existe pas.",
    405: "Cette méthode n'est pas autorisée sur cette ressource.",
    413: "Le contenu envoyé dépasse la taille autorisée.",
    500: "Une erreur inattendue s'est produite ; elle a été enregistrée.",
    503: "Le service est momentanément indisponible.",
}

# The database unreachable (server down, network cut, connection lost) or every connection of
# the pool busy: the request may succeed in a moment, so a 503 with a hint of when, not a 500.
DATABASE_UNAVAILABLE = (sa.exc.OperationalError, sa.exc.DisconnectionError, sa.exc.TimeoutError)
UNAVAILABLE_DETAIL = "Service momentanément indisponible : réessayez dans quelques instants."
RETRY_AFTER_SECONDS = 10


def wants_problem_json() -> bool:
    return request.path.startswith("/api/")


def problem(
    status: int, detail: str | None = None, *, title: str | None = None, **extra
) -> Response:
    body = {
        "type": "about:blank",
        "title": title or TITLES.get(status, "Erreur"),
        "status": status,
        "detail": detail or DETAILS.get(status, TITLES.get(status, "Erreur")),
        "instance": request.path,
        **extra,
    }
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_TYPE)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="vdsi"'
    return response


def _html(status: int, detail: str | None = None):
    return (
        render_template(
            "errors/error.html",
            status=status,
            title=TITLES.get(status, "Erreur"),
            detail=detail or DETAILS.get(status, ""),
        ),
        status,
    )


def _field_error(error: FieldError) -> dict:
    body = {"field": error.field, "message": error.message}
    if error.suggestions:
        body["suggestions"] = error.suggestions
    return body


def _nul_field() -> str | None:
    """The name of the first query parameter, form field or uploaded file name holding a NUL
    character, which no text has and PostgreSQL cannot store or compare with: refused here for
    every route, before a form or a filter reaches a query. The API's bodies are left to the API,
    which reads them itself and refuses by field what is not JSON or holds a NUL."""
    if NUL in request.path:
        return "chemin"
    pairs = list(request.args.items(multi=True))
    forms = {"application/x-www-form-urlencoded", "multipart/form-data"}
    if request.mimetype in forms and not wants_problem_json():
        pairs += request.form.items(multi=True)
        pairs += [(name, file.filename) for name, file in request.files.items(multi=True)]
    for name, value in pairs:
        name = name or ""  # a multipart part may come without a name
        if NUL in name or NUL in (value or ""):
            return name.replace(NUL, "")
    return None


def init_app(app: Flask) -> None:
    @app.before_request
    def _refuse_nul():
        name = _nul_field()
        if name is None:
            return None
        message = f"Le champ « {name} » contient un caractère nul, qu’aucun texte ne contient."
        raise ValidationFailed([FieldError(name, message)])

    @app.errorhandler(DomainError)
    def _domain_error(error: DomainError):
        if wants_problem_json():
            extra = dict(error.extra)
            if isinstance(error, ValidationFailed):
                extra["errors"] = [_field_error(e) for e in error.errors]
            return problem(error.status, error.detail, title=error.title, **extra)
        if isinstance(error, ValidationFailed) and error.errors:
            # A page has no field to show them by: the page says what was wrong.
            return _html(error.status, " ".join(e.message for e in error.errors))
        return _html(error.status, error.detail)

    @app.errorhandler(CSRFError)
    def _csrf_error(error: CSRFError):
        detail = "Le formulaire a expiré ou n'est pas valide. Rechargez la page et recommencez."
        return _html(400, detail)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        status = error.code or 500
        # Werkzeug's own descriptions are English: answer with ours, but keep its headers
        # (a 405 must name the allowed methods in Allow, RFC 9110).
        response = problem(status) if wants_problem_json() else app.make_response(_html(status))
        for name, value in error.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    def _database_unavailable(error: sa.exc.SQLAlchemyError):
        app.logger.error(
            "Database unavailable on %s %s: %s",
            request.method,
            request.path,
            getattr(error, "orig", None) or error,
        )
        if wants_problem_json():
            response = problem(503, UNAVAILABLE_DETAIL)
        else:
            if "_login_user" not in g:
                # The user could not be loaded: the page (its navigation) is drawn as for a
                # visitor, or drawing it would ask the database again.
                app.login_manager._update_request_context_with_user()
            response = app.make_response(_html(503, UNAVAILABLE_DETAIL))
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    for kind in DATABASE_UNAVAILABLE:
        app.register_error_handler(kind, _database_unavailable)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        if wants_problem_json():
            return problem(500)
        return _html(InternalServerError.code)
