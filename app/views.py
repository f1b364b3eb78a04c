"""Application-wide views and template helpers: the health check, the web app manifest and the
navigation per role."""

from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Flask, jsonify, url_for
from flask_login import current_user

from app.db import engine
from billing.models import Classification
from registry.accounts import Role
from registry.nurses.models import LANGUAGE_LABELS, SKILL_LABELS

PARIS = ZoneInfo("Europe/Paris")

THEME_COLOR = "#00568f"


def _icon(name: str, size: str, purpose: str = "any") -> dict:
    return {
        "src": url_for("static", filename=name),
        "sizes": size,
        "type": "image/png" if name.endswith(".png") else "image/svg+xml",
        "purpose": purpose,
    }


# What each role sees in the navigation bar: (endpoint, label).
NAVIGATION = {
    Role.NURSE: [
        ("nurse.offers_page", "Mes propositions"),
        ("nurse.visits_page", "Mes visites"),
        ("nurse.billing_list", "Mes factures"),
        ("nurse.profile", "Mes disponibilités"),
    ],
    Role.AGENT: [
        ("agent.new_request", "Nouvelle demande"),
        ("agent.home", "Mes demandes"),
        ("agent.import_requests", "Importer un CSV"),
        ("agent.coverage", "Couverture"),
    ],
    Role.CPAM: [
        ("cpam.billing_list", "Factures"),
        ("cpam.reconciliation", "Rapprochement"),
        ("cpam.indicators", "Indicateurs"),
        ("cpam.home", "Infirmières"),
    ],
    Role.COORDINATOR: [
        ("coordinator.home", "Territoire"),
        ("coordinator.visits", "Suivi des visites"),
        ("coordinator.indicators", "Indicateurs"),
        ("coordinator.nurses", "Infirmières"),
        ("coordinator.simulation", "Simulation"),
    ],
    Role.ADMIN: [
        ("admin.home", "Tableau de bord"),
        ("admin.indicators", "Indicateurs"),
        ("admin.users", "Comptes"),
        ("admin.audit_log", "Journal d'audit"),
        ("admin.notifications", "Notifications"),
        ("admin.tariffs", "Tarifs"),
    ],
}


def init_app(app: Flask) -> None:
    @app.get("/healthz")
    def healthz():
        try:
            with engine().connect() as connection:
                connection.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError:
            app.logger.exception("Health check: database unreachable")
            return jsonify(status="unavailable", database="unreachable"), 503
        return jsonify(status="ok", database="ok")

    @app.get("/manifest.webmanifest")
    def manifest():
        """What a phone needs to add the platform to its home screen and open it full screen."""
        document = {
            "name": "Plateforme VDSI · visites infirmières Covid-19",
            "short_name": "VDSI",
            "description": "Visites à domicile des patients isolés : propositions, visites, "
            "comptes rendus.",
            "lang": "fr",
            "dir": "ltr",
            "start_url": url_for("auth.index"),
            "scope": "/",
            "display": "standalone",
            "orientation": "portrait",
            "theme_color": THEME_COLOR,
            "background_color": "#f3f5f7",
            "icons": [
                _icon("favicon.svg", "any"),
                _icon("icon-192.png", "192x192"),
                _icon("icon-512.png", "512x512"),
                _icon("icon-maskable-512.png", "512x512", "maskable"),
            ],
            "shortcuts": [
                {"name": "Mes propositions", "url": url_for("nurse.offers_page")},
                {"name": "Mes visites", "url": url_for("nurse.visits_page")},
            ],
        }
        response = jsonify(document)
        response.mimetype = "application/manifest+json"
        response.cache_control.max_age = 3600
        return response

    @app.context_processor
    def _navigation():
        if not current_user.is_authenticated:
            return {"navigation": []}
        return {"navigation": NAVIGATION.get(Role(current_user.role), [])}

    app.add_template_filter(local_time, "local_time")

    @app.template_filter("language_names")
    def _language_names(codes) -> str:
        return ", ".join(LANGUAGE_LABELS.get(code, code) for code in codes)

    @app.template_filter("skill_names")
    def _skill_names(codes) -> str:
        return ", ".join(SKILL_LABELS.get(code, code) for code in codes)

    @app.template_filter("decimal_fr")
    def _decimal_fr(value, places: int = 1) -> str:
        """A number as French readers write it: 12,5."""
        return f"{value:.{places}f}".replace(".", ",")

    @app.template_filter("classification_label")
    def _classification_label(value) -> str:
        return Classification(value).label

    @app.template_filter("euros")
    def _euros(value) -> str:
        """An amount as French readers write it: 1 234,50 €."""
        if value is None:
            return "—"
        whole = f"{value:,.2f}".replace(",", "\u202f").replace(".", ",")
        return f"{whole}\u00a0€"  # never a lone € at the start of a line

    @app.template_filter("paris_time")
    def _paris_time(value, fmt: str = "%d/%m/%Y %H:%M"):
        if value is None:
            return "—"
        return value.astimezone(PARIS).strftime(fmt)


def local_time(value, zone: str = "Europe/Paris", fmt: str = "%d/%m/%Y à %H:%M") -> str:
    """An instant as read where it happens (the patient's zone for a visit)."""
    if value is None:
        return "—"
    return value.astimezone(ZoneInfo(zone)).strftime(fmt)
