"""One way to run management commands: without DATABASE_URL, `manage.py` (local settings)
uses the private cluster under var/ as `make` does, finding it running or starting it
(geocity/bootstrap.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from geocity import bootstrap

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(not (bootstrap.PGDATA / "PG_VERSION").exists(),
                    reason="no private cluster under var/ (make test was given DATABASE_URL)")
def test_manage_py_without_database_url_uses_the_private_cluster():
    # given the private cluster `make` started (make test, or make run, did)
    port = bootstrap.PORT_FILE.read_text().strip()
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    # when a management command runs as the README writes it, with no DATABASE_URL
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c",
         "from django.db import connection; connection.ensure_connection(); "
         "s = connection.settings_dict; print(s['PORT'], s['NAME'])"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    # then it reached the private cluster's database
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-2:] == [port, bootstrap.DB_NAME]


@pytest.fixture
def scratch_cluster(monkeypatch):
    """bootstrap's paths pointed at a new, empty var/ (readable by the postgres user)."""
    var = Path(tempfile.mkdtemp(prefix="geocity-var-"))
    var.chmod(0o755)
    monkeypatch.setattr(bootstrap, "VAR", var)
    monkeypatch.setattr(bootstrap, "PGDATA", var / "postgres")
    monkeypatch.setattr(bootstrap, "PGRUN", var / "run")
    monkeypatch.setattr(bootstrap, "PORT_FILE", var / "run" / "port")
    monkeypatch.setattr(bootstrap, "FIRST_PORT", 5480)
    yield var
    bootstrap.cmd_stop([])
    shutil.rmtree(var, ignore_errors=True)


@pytest.mark.skipif(not (bootstrap.PG_BIN / "initdb").exists(), reason="no PostgreSQL 15")
def test_the_private_cluster_is_started_when_it_is_not_running(scratch_cluster):
    # given no cluster at all under var/
    assert not (bootstrap.PGDATA / "PG_VERSION").exists()
    # when local settings ask for the database
    url = bootstrap.private_database_url()
    # then the cluster was made and started, and its database has PostGIS
    assert url == f"postgis://postgres@127.0.0.1:{bootstrap.PORT_FILE.read_text().strip()}/geocity"
    assert bootstrap._cluster_running()
    check = bootstrap._psql(bootstrap._libpq_url(url), "SELECT postgis_lib_version()")
    assert check.returncode == 0 and check.stdout.strip()
    # and once stopped, asking again starts it again, on the same port
    bootstrap.cmd_stop([])
    assert not bootstrap._cluster_running()
    assert bootstrap.private_database_url() == url
    assert bootstrap._cluster_running()
