"""Production entry point for gunicorn: the settings default to production (SECRET_KEY required)."""

from app import create_app
from app.config import Settings

application = create_app(Settings.from_env(default_env="production"))
