"""The production stack's configuration: settings fail fast, deploy/ renders valid files,
the stack's CLI says what is wrong. Real processes, as an operator runs them."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from geocity.deployconf import render_text

ROOT = Path(__file__).resolve().parent.parent
# What the test settings put in this process's environment; an operator's shell has none.
TEST_ONLY = ("DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE", "MEDIA_ROOT",
             "PRIVATE_MEDIA_ROOT", "STATIC_ROOT", "CACHE_URL", "SERVE_MEDIA", "ALLOWED_HOSTS")


def run(*cmd: str, env_overrides: dict | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in TEST_ONLY}
    env.update(env_overrides or {})
    return subprocess.run([sys.executable, *cmd], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize(("overrides", "message"), [
    ({"DATABASE_REPLICA_URLS": "mysql://u@h/db"},
     "DATABASE_REPLICA_URLS item 1 must point to PostgreSQL with PostGIS"),
    ({"DATABASE_REPLICA_URLS": "postgis://u@h:5/db,nonsense"},
     "DATABASE_REPLICA_URLS item 2 must point to PostgreSQL with PostGIS"),
    ({"DATABASE_REPLICA_MAX_LAG": "-1"}, "DATABASE_REPLICA_MAX_LAG must be 0 or more"),
    ({"TLS_CERT_FILE": "/etc/ssl/city.pem"}, "TLS_CERT_FILE and TLS_KEY_FILE go together"),
    ({"WEB_WORKERS": "many"}, "WEB_WORKERS must be an integer"),
])
def test_bad_stack_settings_are_a_message_not_a_traceback(overrides, message):
    result = run("manage.py", "check", env_overrides=overrides)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_replicas_become_database_aliases_routed_by_url():
    result = run("manage.py", "shell", "-c",
                 "from django.conf import settings as s; "
                 "print(sorted(s.DATABASES), s.DATABASE_ROUTERS, s.MIDDLEWARE[1])",
                 env_overrides={"DATABASE_REPLICA_URLS": "postgis://u@a:5432/db,"
                                                         "postgis://u@b:5432/db"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == ("['default', 'replica1', 'replica2'] "
                                     "['geocity.dbrouter.ReplicaRouter'] "
                                     "geocity.dbrouter.ReplicaMiddleware")


def test_deploy_templates_render_to_a_valid_nginx_config(tmp_path):
    # given the production settings of a node behind a TLS-ending load balancer
    var = tmp_path / "var"
    for sub in ("run", "log", "nginx", "cache/nginx"):
        (var / sub).mkdir(parents=True)
    result = run("-m", "geocity.deployconf", "--var", str(var), "--redis-port", "6399",
                 env_overrides={"SECRET_KEY": "x" * 50, "SERVE_TLS": "false",
                                "SERVE_PORT": "8081", "MAX_REQUEST_BODY_BYTES": "1234567",
                                "WEB_WORKERS": "3"})
    assert result.returncode == 0, result.stderr
    out = var / "deploy"
    nginx = (out / "nginx.conf").read_text()
    # then nginx accepts it, and it says what the settings say
    checked = subprocess.run(["nginx", "-t", "-q", "-c", str(out / "nginx.conf"),
                              "-p", str(var / "nginx"), "-e", str(var / "log" / "e.log")],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    assert "client_max_body_size 1234567;" in nginx
    assert "listen 127.0.0.1:8081;" in nginx and "ssl_certificate" not in nginx
    assert "workers = 3" in (out / "gunicorn.conf.py").read_text()
    assert "port 6399" in (out / "redis.conf").read_text()
    assert {p.name for p in (out / "systemd").iterdir()} == {
        "geocity-web.service", "geocity-worker.service", "geocity-beat.service"}


def test_a_template_out_of_step_with_its_values_is_an_error():
    with pytest.raises(KeyError, match="no value for PORT"):
        render_text("listen @@PORT@@;", {})


@pytest.mark.parametrize(("args", "message"), [
    (("bogus",), "usage: stack.py {start|stop|status}"),
    (("start", "--fast"), "unknown option(s) --fast"),
])
def test_the_stack_cli_says_what_is_wrong(args, message):
    result = run("geocity/stack.py", *args)
    assert result.returncode == 2
    assert message in result.stderr
