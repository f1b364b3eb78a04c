"""Application-wide views and template helpers: the health check and navigation per role."""

from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Flask, jsonify
from flask_login import current_user

from app.db import engine
from registry.accounts import Role

PARIS = ZoneInfo("Europe/Paris")

# What each role sees in the navigation bar: (endpoint, label).
NAVIGATION = {
    Role.NURSE: [
        ("nurse.offers_page", "Mes propositions"),
        ("nurse.visits_page", "Mes visites"),
        ("nurse.profile", "Mes disponibilités"),
    ],
    Role.AGENT: [
        ("agent.new_request", "Nouvelle demande"),
        ("agent.home", "Mes demandes"),
        ("agent.import_requests", "Importer un CSV"),
        ("agent.coverage", "Couverture"),
    ],
    Role.CPAM: [("cpam.home", "Facturation")],
    Role.COORDINATOR: [
        ("coordinator.home", "Territoire"),
        ("coordinator.visits", "Suivi des visites"),
        ("coordinator.nurses", "Infirmières"),
    ],
    Role.ADMIN: [
        ("admin.home", "Tableau de bord"),
        ("admin.users", "Comptes"),
        ("admin.audit_log", "Journal d'audit"),
        ("admin.notifications", "Notifications"),
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

    @app.context_processor
    def _navigation():
        if not current_user.is_authenticated:
            return {"navigation": []}
        return {"navigation": NAVIGATION.get(Role(current_user.role), [])}

    app.add_template_filter(local_time, "local_time")

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
