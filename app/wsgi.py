"""Production entry point for gunicorn: the settings default to production (SECRET_KEY required).

Each serving process starts its scheduler elector here, at once, so the recurring jobs resume
after a restart even before anyone makes a request; the lease keeps them to one process."""

from app import create_app
from app.config import Settings
from app.jobs import scheduler

application = create_app(Settings.from_env(default_env="production"))
scheduler.start(application)
