"""The production entry point is ready to serve when gunicorn has loaded it: the commune table
that every booking geocodes with is parsed as the worker boots, not in its first request."""

import os
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
PROBE = """
from registry.geo.communes import commune_directory
import app.wsgi
print(commune_directory.cache_info().currsize)
"""


def test_a_worker_parses_the_commune_table_as_it_loads_the_application(tmp_path):
    env = {
        **os.environ,
        "APP_ENV": "production",
        "SECRET_KEY": "boot-test-secret",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'boot.sqlite3'}",
        "SCHEDULER": "false",
    }
    loaded = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert loaded.stdout.split()[-1] == "1", loaded.stderr
