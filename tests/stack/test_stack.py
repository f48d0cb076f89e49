"""The production stack for real: `geocity/stack.py start --replica` in a directory of its own
(GEOCITY_VAR) on free ports: a private PostGIS primary and a streaming replica, Redis,
gunicorn, a Celery worker and beat, nginx with TLS. Requests go through nginx as a browser's
would. The stack is stopped at the end, also when a test fails.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import psycopg.sql
import pytest
import requests
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
STACK = [sys.executable, str(ROOT / "geocity" / "stack.py")]
MAX_LAG_S = 10  # DATABASE_REPLICA_MAX_LAG of this stack
PUBLIC_CACHE_S = 5  # PUBLIC_CACHE_SECONDS (its default)
PIN_COOKIE = "geocity_primary"  # geocity.dbrouter.PIN_COOKIE
BODY_LIMIT = 3_000_000  # MAX_REQUEST_BODY_BYTES of this stack
PLACE = {"lat": "48.4647", "lon": "35.0462"}  # the demo city's centre: roads' area
# The test process's own settings put these in its environment; the stack makes its own.
NOT_PASSED = ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "CACHE_URL", "CELERY_BROKER_URL",
              "CELERY_RESULT_BACKEND", "MEDIA_ROOT", "PRIVATE_MEDIA_ROOT", "STATIC_ROOT",
              "SECRET_KEY", "ALLOWED_HOSTS", "DEBUG", "SERVE_MEDIA", "DATABASE_REPLICA_URLS",
              "SITE_URL", "CSRF_TRUSTED_ORIGINS", "DJANGO_ALLOW_ASYNC_UNSAFE")

# The stack's own self-signed certificate: verifying it would only test openssl.
pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _libpq(url: str) -> str:
    return "postgresql" + url[url.index("://"):]


@dataclass
class Stack:
    var: Path
    env: dict[str, str]
    state: dict
    # (the failed start, the state it saved, the next start's output)
    failed_start: tuple[subprocess.CompletedProcess, dict, str] | None = None

    @property
    def url(self) -> str:
        return self.state["url"].rstrip("/")

    def session(self) -> requests.Session:
        s = requests.Session()
        s.verify = False
        s.trust_env = False  # an environment CA bundle would override `verify`
        s.headers["Referer"] = self.url + "/"  # Django's CSRF check of HTTPS requests
        return s

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run([*STACK, *args], cwd=ROOT, env=self.env, capture_output=True,
                              text=True, timeout=600)
        if check and done.returncode != 0:
            pytest.fail(f"stack.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}\n"
                        f"{self.logs()}")
        return done

    def pid(self, name: str) -> int | None:
        path = self.var / "run" / f"{name}.pid"
        return int(path.read_text().split()[0]) if path.exists() else None

    def logs(self) -> str:
        parts = []
        for log in sorted((self.var / "log").glob("*.log")):
            tail = log.read_text(errors="replace").splitlines()[-15:]
            parts.append(f"--- {log.name}\n" + "\n".join(tail))
        return "\n".join(parts)


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    var = Path(tempfile.mkdtemp(prefix="geocity-stack-"))
    var.chmod(0o755)  # PostgreSQL runs as `postgres`, nginx's workers as www-data
    env = {k: v for k, v in os.environ.items() if k not in NOT_PASSED}
    env.update(GEOCITY_VAR=str(var), SERVE_PORT=str(_free_port()),
               SERVE_HTTP_PORT=str(_free_port()), WEB_WORKERS="2",
               CELERY_WORKER_CONCURRENCY="1", DATABASE_REPLICA_MAX_LAG=str(MAX_LAG_S),
               MAX_REQUEST_BODY_BYTES=str(BODY_LIMIT), DEMO_PASSWORD="demo")
    s = Stack(var, env, {})
    try:
        # A start that fails late (nginx refuses a missing certificate) after Redis and the
        # replica are up: the next start must find them, not move away from their ports.
        broken = subprocess.run([*STACK, "start", "--replica"], cwd=ROOT, capture_output=True,
                                text=True, timeout=600,
                                env=dict(env, TLS_CERT_FILE=str(var / "missing.crt"),
                                         TLS_KEY_FILE=str(var / "missing.key")))
        saved = json.loads((var / "run" / "stack.json").read_text())
        s.failed_start = (broken, saved, s.run("start", "--replica").stderr)
        s.state = json.loads((var / "run" / "stack.json").read_text())
        # The demo city with its accounts (DEBUG for that command only), on the primary.
        demo = dict(env, DEBUG="true", DJANGO_SETTINGS_MODULE="geocity.settings.production",
                    DATABASE_URL=s.state["database_url"], SECRET_KEY="x" * 50,
                    MEDIA_ROOT=str(var / "media"), PRIVATE_MEDIA_ROOT=str(var / "private"),
                    STATIC_ROOT=str(var / "static"))
        loaded = subprocess.run([sys.executable, "manage.py", "load_demo_city", "--reports",
                                 "30"], cwd=ROOT, env=demo, capture_output=True, text=True,
                                timeout=600)
        assert loaded.returncode == 0, loaded.stdout + loaded.stderr
        yield s
    finally:
        stopped = subprocess.run([*STACK, "stop"], cwd=ROOT, env=env, capture_output=True,
                                 text=True, timeout=300)
        print(stopped.stdout, stopped.stderr, s.logs())
        shutil.rmtree(var, ignore_errors=True)


def _photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (120, 80, 40)).save(out, "JPEG")
    return out.getvalue()


def _post_report(client: requests.Session, stack: Stack, **extra) -> requests.Response:
    return client.post(f"{stack.url}/api/v1/reports/", timeout=60,
                       data={"category": "damaged-pavement", **PLACE,
                             "description": "A broken kerb at the stop", **extra},
                       files={"photos": ("kerb.jpg", _photo(), "image/jpeg")})


def _login(client: requests.Session, stack: Stack, username: str) -> None:
    page = client.get(f"{stack.url}/accounts/login/", timeout=30)
    token = client.cookies["csrftoken"]
    assert page.status_code == 200
    done = client.post(f"{stack.url}/accounts/login/", timeout=30, allow_redirects=False,
                       data={"username": username, "password": "demo",
                             "csrfmiddlewaretoken": token})
    assert done.status_code == 302, done.text[:500]


def _report_table() -> tuple[str, str]:
    """The reports' table and its key (the public number), found by model name, wherever
    the Report model lives."""
    from django.apps import apps

    (model,) = [m for m in apps.get_models() if m.__name__ == "Report"]
    return model._meta.db_table, model._meta.pk.column


def _on_replica(replica: psycopg.Connection, number: int) -> bool:
    table, key = (psycopg.sql.Identifier(name) for name in _report_table())
    query = psycopg.sql.SQL("SELECT count(*) FROM {} WHERE {} = %s").format(table, key)
    return replica.execute(query, [number]).fetchone()[0] == 1


def _roads_backlog(official: requests.Session, stack: Stack) -> int:
    """The roads department's open backlog in the dashboard's per-department export."""
    response = official.get(f"{stack.url}/dashboard/departments.csv", timeout=60)
    assert response.status_code == 200, response.text[:500]
    text = response.content.decode("utf-8-sig")  # with a BOM, for spreadsheets
    rows = {row["department"]: row for row in csv.DictReader(io.StringIO(text))}
    return int(rows["roads"]["open_backlog"]) if "roads" in rows else 0


def _wait_for(predicate, what: str, timeout: float = 90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    pytest.fail(f"timed out waiting for {what}")


def test_health_names_every_dependency(stack):
    # when a load balancer asks, with a Host header the site does not know
    response = requests.get(f"{stack.url}/healthz", verify=False, timeout=30,
                            headers={"Host": "10.0.0.7"})
    # then each dependency has its status, the replica its lag
    assert response.status_code == 200, response.text
    checks = response.json()["checks"]
    assert {k: checks[k]["status"] for k in ("database", "cache", "broker")} == {
        "database": "ok", "cache": "ok", "broker": "ok"}
    assert checks["cache"]["backend"] == "ResilientRedisCache"  # geocity.cache, on Redis
    assert checks["replicas"]["replica1"]["status"] == "ok"


def test_plain_http_redirects_to_https(stack):
    port = stack.state["http_port"]
    response = requests.get(f"http://127.0.0.1:{port}/dashboard/", allow_redirects=False,
                            timeout=30)
    assert response.status_code == 301
    assert response.headers["Location"] == f"https://127.0.0.1:{stack.state['serve_port']}" \
                                           "/dashboard/"


def test_a_report_posted_through_nginx_reaches_the_department_queue(stack):
    resident = stack.session()
    # when a resident sends a report with a photo through nginx
    created = _post_report(resident, stack)
    # then it is routed to roads, and roads' clerk sees it in the workspace queue
    assert created.status_code == 201, created.text
    number = created.json()["number"]
    assert created.json()["department"]["code"] == "roads"
    clerk = stack.session()
    _login(clerk, stack, "staff.roads")
    queue = clerk.get(f"{stack.url}/workspace/", timeout=30)
    assert queue.status_code == 200
    assert f"/workspace/reports/{number}/" in queue.text
    # and the Celery worker renders the photo, which nginx serves from MEDIA_ROOT
    def thumbnail():
        listed = resident.get(f"{stack.url}/api/v1/reports/", params={"q": str(number)},
                              timeout=30).json()["features"]
        return listed and listed[0]["properties"]["thumbnail_url"]
    thumb_url = _wait_for(thumbnail, "the worker to render the photo")
    assert urlsplit(thumb_url).path.startswith("/media/")
    image = resident.get(thumb_url, timeout=30)
    assert image.status_code == 200
    assert image.headers["Content-Type"] == "image/jpeg"
    assert image.headers["Cache-Control"] == "max-age=86400"  # nginx's `expires 1d`


def test_an_anonymous_tile_is_served_from_nginx_cache_the_second_time(stack):
    url = f"{stack.url}/tiles/infrastructure/13/4893/2831.pbf"  # the demo city's centre
    client = stack.session()
    first = client.get(url, headers={"Accept-Encoding": "gzip"}, timeout=60)
    second = client.get(url, headers={"Accept-Encoding": "gzip"}, timeout=60)
    assert first.status_code == second.status_code == 200
    assert first.headers["X-Cache-Status"] == "MISS"
    assert second.headers["X-Cache-Status"] == "HIT"
    assert second.content == first.content and second.headers["ETag"] == first.headers["ETag"]
    assert second.headers["Content-Encoding"] == "gzip"  # passed through as the app made it
    # a client holding the tile gets 304 from the cache
    again = client.get(url, headers={"Accept-Encoding": "gzip",
                                     "If-None-Match": first.headers["ETag"]}, timeout=60)
    assert again.status_code == 304
    # requests that may see more than the public never share the cached copy
    for headers in ({"Cookie": "sessionid=abc"}, {"Authorization": "Token abc"}):
        private = requests.get(url, headers={"Accept-Encoding": "gzip", **headers},
                               verify=False, timeout=60)
        assert private.headers["X-Cache-Status"] == "BYPASS"


def test_a_body_over_the_limit_gets_413_json_from_nginx(stack):
    response = stack.session().post(f"{stack.url}/api/v1/reports/", timeout=60,
                                    data=b"x" * (BODY_LIMIT + 1),
                                    headers={"Content-Type": "application/octet-stream"})
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


def test_anonymous_public_reads_are_kept_by_nginx_for_seconds_only(stack):
    public, author, official = stack.session(), stack.session(), stack.session()
    _login(official, stack, "official")
    listing = f"{stack.url}/api/v1/reports/?page_size=7"  # a URL no other test reads
    feed = f"{stack.url}/open311/v2/requests.json?status=open&page_size=7"

    def numbers(response: requests.Response) -> set[int]:
        return {f["properties"]["number"] for f in response.json()["features"]}

    # given anonymous reads of the report list and the Open311 feed, twice
    for url in (listing, feed):
        first, second = public.get(url, timeout=30), public.get(url, timeout=30)
        assert first.status_code == second.status_code == 200
        # then the second comes from nginx, identical, and the header stays between the two
        assert (first.headers["X-Cache-Status"], second.headers["X-Cache-Status"]) == \
            ("MISS", "HIT")
        assert second.content == first.content
        assert "X-Accel-Expires" not in second.headers
        assert "max-age" not in second.headers.get("Cache-Control", "")  # browsers keep nothing
    # and a signed-in user goes past the cache
    assert official.get(listing, timeout=30).headers["X-Cache-Status"] == "BYPASS"
    # when a resident sends a report
    created = _post_report(author, stack)
    assert created.status_code == 201, created.text
    number = created.json()["number"]
    # then its author's list goes past the cache and has it
    mine = author.get(listing, timeout=30)
    assert mine.headers["X-Cache-Status"] == "BYPASS" and number in numbers(mine)
    # and the anonymous list shows it within PUBLIC_CACHE_SECONDS (+ the replica bound)
    _wait_for(lambda: number in numbers(public.get(listing, timeout=30)),
              "the anonymous list to show the new report", timeout=PUBLIC_CACHE_S + MAX_LAG_S + 30)


def test_the_replica_serves_public_reads_and_never_an_authors_own_write_stale(stack):
    primary = psycopg.connect(_libpq(stack.state["database_url"]), autocommit=True)
    replica = psycopg.connect(_libpq(stack.state["replica_urls"]), autocommit=True)
    official = stack.session()
    _login(official, stack, "official")
    official.cookies.set(PIN_COOKIE, None)  # as if its pin (after the login) had expired
    try:
        # given a replica that has replayed everything so far, then stops replaying
        primary.execute("CREATE TABLE IF NOT EXISTS stack_probe (n int)")
        primary.execute("INSERT INTO stack_probe VALUES (1)")
        _wait_for(lambda: replica.execute("SELECT to_regclass('stack_probe') IS NOT NULL "
                                          "AND EXISTS (SELECT 1 FROM stack_probe)").fetchone()[0],
                  "the replica to catch up")
        replica.execute("SELECT pg_wal_replay_pause()")
        backlog = _roads_backlog(official, stack)
        official.cookies.set(PIN_COOKIE, None)  # had the dashboard refreshed its rollup
        author, public = stack.session(), stack.session()
        # when a resident sends a report
        created = _post_report(author, stack)
        assert created.status_code == 201, created.text
        number = created.json()["number"]
        detail = f"{stack.url}/api/v1/reports/{number}/"
        # then its author reads it back (the primary), while the public read, served by the
        # replica within the lag bound, does not have it yet
        assert PIN_COOKIE in author.cookies
        assert author.get(detail, timeout=30).status_code == 200
        assert public.get(detail, timeout=30).status_code == 404
        assert not _on_replica(replica, number)
        # and the dashboard's KPI statements, read from the replica, do not count it yet
        assert _roads_backlog(official, stack) == backlog
        # and once the replica lags more than DATABASE_REPLICA_MAX_LAG, public reads go to
        # the primary: the report shows although the replica still has not replayed it
        _wait_for(lambda: public.get(detail, timeout=30).status_code == 200,
                  "public reads to leave the lagging replica", timeout=MAX_LAG_S + 60)
        assert not _on_replica(replica, number)
        assert _roads_backlog(official, stack) == backlog + 1  # the primary's KPIs
        health = requests.get(f"{stack.url}/healthz", verify=False, timeout=30).json()
        assert health["status"] == "ok"  # a lagging replica is reported, not fatal
        assert health["checks"]["replicas"]["replica1"]["status"] == "lagging"
        # and once it replays again, it has the report
        replica.execute("SELECT pg_wal_replay_resume()")
        _wait_for(lambda: _on_replica(replica, number), "the replica to replay the report")
    finally:
        replica.execute("SELECT pg_wal_replay_resume()")
        primary.close()
        replica.close()


def test_a_start_after_a_failed_one_finds_its_redis_and_replica(stack):
    broken, saved, next_start = stack.failed_start
    assert broken.returncode != 0
    assert "nginx -t failed" in broken.stderr and "missing.crt" in broken.stderr
    assert "moves to" not in next_start
    assert (saved["redis_port"], saved["replica_port"]) == \
        (stack.state["redis_port"], stack.state["replica_port"])
    assert stack.state["replica_urls"].endswith(f":{saved['replica_port']}/geocity")


def test_a_second_start_finds_what_runs(stack):
    before = {name: stack.pid(name) for name in ("nginx", "gunicorn", "redis",
                                                  "celery-worker", "celery-beat")}
    done = stack.run("start")
    assert "gunicorn (pid" in done.stderr and "runs: reloaded" in done.stderr
    after = {name: stack.pid(name) for name in before}
    assert after == before
    assert requests.get(f"{stack.url}/healthz", verify=False, timeout=30).status_code == 200


def test_stop_stops_every_process(stack):
    pids = [stack.pid(name) for name in ("nginx", "gunicorn", "redis", "celery-worker",
                                         "celery-beat")]
    stack.run("stop")
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or \
            Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] == "Z"
    status = dict(line.split()[:2] for line in stack.run("status").stdout.splitlines()
                  if line.strip())
    assert set(status.values()) == {"stopped"}, status
    assert {"nginx", "gunicorn", "redis", "replica", "primary"} <= set(status)
