"""Configuration read from the environment; every setting is documented in the README."""

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = PROJECT_ROOT / "instance"
ENVIRONMENTS = ("development", "test", "production")
GEOCODERS = ("commune", "ban")


class ConfigError(RuntimeError):
    pass


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on", "oui"}


def _development_secret_key() -> str:
    """A key kept in instance/ so development sessions survive restarts without any setup."""
    INSTANCE_DIR.mkdir(exist_ok=True)
    path = INSTANCE_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


CHANNELS = ("email", "sms", "console")


def _channels(value: str) -> tuple[str, ...]:
    channels = tuple(c.strip() for c in value.split(",") if c.strip())
    unknown = [c for c in channels if c not in CHANNELS]
    if unknown or not channels:
        raise ConfigError(f"NOTIFICATION_CHANNELS: a list among {', '.join(CHANNELS)}")
    return channels


def _at_least(env_vars: dict[str, str], name: str, default: int, minimum: int) -> int:
    value = int(env_vars.get(name, default))
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}")
    return value


@dataclass
class Settings:
    env: str
    database_url: str
    secret_key: str
    public_base_url: str = "http://127.0.0.1:5000"
    mail_backend: str = "console"
    mail_server: str = "localhost"
    mail_port: int = 25
    mail_username: str = ""
    mail_password: str = ""
    mail_starttls: bool = False
    mail_from: str = "VDSI <no-reply@vdsi.localhost>"
    login_max_failures: int = 5
    login_lockout_minutes: int = 15
    password_reset_hours: int = 2
    session_hours: int = 12
    proxy_hops: int = 0
    geocoder: str = "commune"
    visit_due_hours: int = 24
    follow_up_days: int = 4
    revisit_block_days: int = 14
    at_risk_hours: int = 6
    ban_url: str = "https://api-adresse.data.gouv.fr"
    offer_minutes: int = 30
    offer_usual_nurse_minutes: int = 120
    plan_time_limit: float = 5.0
    # Plan new and refused requests at once, in the background (off: only the scheduler plans).
    plan_on_change: bool = False
    # Passes planned on change start at least this far apart (a burst is merged into one).
    plan_change_seconds: float = 5.0
    scheduler: bool = False
    notification_channels: tuple[str, ...] = ("console",)
    sms_gateway_url: str = ""
    sms_gateway_key: str = ""
    retention_days: int = 90
    # The scheduler: how long its lease lasts without renewal (a crashed holder is replaced
    # after this), and how often the planning pass and the notification delivery run.
    scheduler_lease_seconds: int = 45
    planning_seconds: int = 60
    delivery_seconds: int = 15

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, default_env: str = "development"):
        env_vars = dict(os.environ if environ is None else environ)
        env = env_vars.get("APP_ENV", default_env)
        if env_vars.get("GEOCODER", "commune") not in GEOCODERS:
            raise ConfigError(f"GEOCODER must be one of {', '.join(GEOCODERS)}")
        if env not in ENVIRONMENTS:
            raise ConfigError(f"APP_ENV must be one of {', '.join(ENVIRONMENTS)}, not {env!r}")
        secret_key = env_vars.get("SECRET_KEY", "")
        if not secret_key:
            if env == "production":
                raise ConfigError("SECRET_KEY must be set outside development (APP_ENV=production)")
            secret_key = (
                _development_secret_key() if env == "development" else secrets.token_hex(32)
            )
        default_db = f"sqlite:///{INSTANCE_DIR / 'vdsi.sqlite3'}"
        return cls(
            env=env,
            database_url=env_vars.get("DATABASE_URL", default_db),
            secret_key=secret_key,
            public_base_url=env_vars.get("PUBLIC_BASE_URL", cls.public_base_url).rstrip("/"),
            mail_backend=env_vars.get("MAIL_BACKEND", "console"),
            mail_server=env_vars.get("MAIL_SERVER", cls.mail_server),
            mail_port=int(env_vars.get("MAIL_PORT", cls.mail_port)),
            mail_username=env_vars.get("MAIL_USERNAME", ""),
            mail_password=env_vars.get("MAIL_PASSWORD", ""),
            mail_starttls=_bool(env_vars.get("MAIL_STARTTLS", "false")),
            mail_from=env_vars.get("MAIL_FROM", cls.mail_from),
            login_max_failures=int(env_vars.get("LOGIN_MAX_FAILURES", cls.login_max_failures)),
            login_lockout_minutes=int(
                env_vars.get("LOGIN_LOCKOUT_MINUTES", cls.login_lockout_minutes)
            ),
            password_reset_hours=int(
                env_vars.get("PASSWORD_RESET_HOURS", cls.password_reset_hours)
            ),
            session_hours=int(env_vars.get("SESSION_HOURS", cls.session_hours)),
            proxy_hops=int(env_vars.get("TRUSTED_PROXY_HOPS", cls.proxy_hops)),
            geocoder=env_vars.get("GEOCODER", cls.geocoder),
            visit_due_hours=int(env_vars.get("VISIT_DUE_HOURS", cls.visit_due_hours)),
            follow_up_days=int(env_vars.get("FOLLOW_UP_DAYS", cls.follow_up_days)),
            revisit_block_days=int(env_vars.get("REVISIT_BLOCK_DAYS", cls.revisit_block_days)),
            at_risk_hours=int(env_vars.get("AT_RISK_HOURS", cls.at_risk_hours)),
            ban_url=env_vars.get("BAN_URL", cls.ban_url),
            offer_minutes=int(env_vars.get("OFFER_MINUTES", cls.offer_minutes)),
            offer_usual_nurse_minutes=int(
                env_vars.get("OFFER_USUAL_NURSE_MINUTES", cls.offer_usual_nurse_minutes)
            ),
            plan_time_limit=float(env_vars.get("PLAN_TIME_LIMIT", cls.plan_time_limit)),
            plan_on_change=_bool(
                env_vars.get("PLAN_ON_CHANGE", "false" if env == "test" else "true")
            ),
            plan_change_seconds=min(
                300.0,
                max(0.0, float(env_vars.get("PLAN_CHANGE_SECONDS", cls.plan_change_seconds))),
            ),
            scheduler=_bool(env_vars.get("SCHEDULER", "false" if env == "test" else "true")),
            notification_channels=_channels(env_vars.get("NOTIFICATION_CHANNELS", "console")),
            sms_gateway_url=env_vars.get("SMS_GATEWAY_URL", ""),
            sms_gateway_key=env_vars.get("SMS_GATEWAY_KEY", ""),
            retention_days=int(env_vars.get("RETENTION_DAYS", cls.retention_days)),
            scheduler_lease_seconds=_at_least(
                env_vars, "SCHEDULER_LEASE_SECONDS", cls.scheduler_lease_seconds, 2
            ),
            planning_seconds=_at_least(env_vars, "PLANNING_SECONDS", cls.planning_seconds, 1),
            delivery_seconds=_at_least(env_vars, "DELIVERY_SECONDS", cls.delivery_seconds, 1),
        )

    def flask_config(self) -> dict:
        secure = self.env == "production"
        return {
            "SECRET_KEY": self.secret_key,
            "SETTINGS": self,
            "TESTING": self.env == "test",
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "SESSION_COOKIE_SECURE": secure,
            "SESSION_COOKIE_NAME": "vdsi_session",
            "REMEMBER_COOKIE_HTTPONLY": True,
            "REMEMBER_COOKIE_SECURE": secure,
            "REMEMBER_COOKIE_SAMESITE": "Lax",
            "PERMANENT_SESSION_LIFETIME": self.session_hours * 3600,
            "WTF_CSRF_TIME_LIMIT": self.session_hours * 3600,
            "MAX_CONTENT_LENGTH": 5 * 1024 * 1024,
            "JSON_AS_ASCII": False,
        }
