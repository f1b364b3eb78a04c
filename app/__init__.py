"""The Flask application: `create_app` wires configuration, database, security and blueprints."""

from datetime import timedelta

from flask import Flask
from flask_wtf.csrf import CSRFProtect
from werkzeug import routing
from werkzeug.exceptions import NotFound
from werkzeug.middleware.proxy_fix import ProxyFix

from app.config import PROJECT_ROOT, Settings

csrf = CSRFProtect()
# Row ids are `integer` columns (32 bits on PostgreSQL): a larger number in a path names no row.
MAX_ROW_ID = 2**31 - 1


class IntegerConverter(routing.IntegerConverter):
    """`<int:…>` in routes (all row ids): a number no row can have is a 404, whatever the
    method, rather than an overflow in the database driver."""

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        if number > MAX_ROW_ID:
            # Not ValidationError: Werkzeug would then try the path's other methods (a 405).
            raise NotFound()
        return number


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder="static",
    )
    app.url_map.converters["int"] = IntegerConverter
    app.config.update(settings.flask_config())
    app.permanent_session_lifetime = timedelta(hours=settings.session_hours)
    if settings.proxy_hops:
        # Behind a reverse proxy the client's address (throttling, audit) is in X-Forwarded-For.
        hops = settings.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    from app import auth, cli, db, errors, security, views
    from app.blueprints import (  # noqa: F401 (routes on the api blueprint)
        admin,
        admin_tariffs,
        agent,
        agent_import,
        api,
        api_billing,
        api_docs,
        api_geo,
        api_indicators,
        api_nurses,
        api_requests,
        api_visits,
        coordinator,
        coordinator_simulation,
        cpam,
        cpam_reconciliation,
        enrolment,
        nurse,
        nurse_billing,
        nurse_visits,
        steering_routes,
    )

    db.init_app(app)
    csrf.init_app(app)
    auth.init_app(app)
    errors.init_app(app)
    security.init_app(app)
    views.init_app(app)
    cli.init_app(app)

    from app.jobs import scheduler

    # The scheduler's elector starts with the first request a process serves (never in CLI
    # commands); the lease then keeps it to one process in the deployment.
    app.before_request(lambda: scheduler.start(app))

    app.register_blueprint(auth.blueprint)
    app.register_blueprint(enrolment.blueprint)
    app.register_blueprint(nurse.blueprint, url_prefix="/nurse")
    app.register_blueprint(agent.blueprint, url_prefix="/agent")
    app.register_blueprint(cpam.blueprint, url_prefix="/cpam")
    app.register_blueprint(coordinator.blueprint, url_prefix="/coordinator")
    app.register_blueprint(admin.blueprint, url_prefix="/admin")
    app.register_blueprint(api.blueprint, url_prefix="/api/v1")
    app.register_blueprint(api_docs.blueprint)
    csrf.exempt(api.blueprint)
    return app
