"""Production entry point for gunicorn: the settings default to production (SECRET_KEY required).

Each serving process starts its scheduler elector here, at once, so the recurring jobs resume
after a restart even before anyone makes a request; the lease keeps them to one process."""

from app import create_app
from app.config import Settings
from app.jobs import scheduler
from registry.geo.communes import commune_directory

application = create_app(Settings.from_env(default_env="production"))
# The commune table is parsed as the worker boots, not in the first booking it serves (which
# waited 0.4 s for it alone, over a second on a busy machine: benchmarks/load.py).
commune_directory()
scheduler.start(application)
