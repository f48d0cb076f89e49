"""Configuration fails fast with a clear message (run as a real process, like an operator)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def manage(*args, env_overrides: dict, drop: tuple = ()) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by the browser fixture for its own thread
    env.update(env_overrides)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(("overrides", "drop", "message"), [
    ({"DEBUG": "false"}, ("SECRET_KEY",), "SECRET_KEY is required when DEBUG is off"),
    # (local settings find or start the private cluster instead: tests/test_manage_database)
    ({"DJANGO_SETTINGS_MODULE": "geocity.settings.production", "SECRET_KEY": "k" * 60},
     ("DATABASE_URL",), "DATABASE_URL is not set"),
    ({"DATABASE_URL": "mysql://u@h/db"}, (), "must point to PostgreSQL with PostGIS"),
    ({"CONN_MAX_AGE": "soon"}, (), "CONN_MAX_AGE must be an integer"),
])
def test_bad_configuration_is_a_message_not_a_traceback(overrides, drop, message):
    result = manage("check", env_overrides=overrides, drop=drop)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_storage_srid_must_be_metric():
    result = manage("check", env_overrides={"STORAGE_SRID": "4326"})
    assert result.returncode != 0
    assert "geocity.E002" in result.stderr


def test_production_deploy_check_is_clean():
    result = manage(
        "check", "--deploy", "--settings=geocity.settings.production",
        env_overrides={"SECRET_KEY": "x" * 60 + "-Production-Key-1234567890",
                       "ALLOWED_HOSTS": "city.example.org"},
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout
