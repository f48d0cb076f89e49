"""Background work on a real broker: a Celery worker on Redis runs a task against PostGIS.

The rest of the suite runs tasks in-process (no CELERY_BROKER_URL). This test starts a real
worker process and sends it a task through Redis, the way a scaled deployment does, so the
broker settings, task discovery and the worker's database access are exercised for real.
When no Redis answers on REDIS_TEST_URL, a private `redis-server` (installed by `make test`)
is started for the test on a free port, keeping nothing on disk.
"""

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from django.db import connection

from . import factories as f

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/15")
CELERY = [sys.executable, "-m", "celery", "-A", "geocity"]


def _redis_answers(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port or 6379), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _database_url() -> str:
    s = connection.settings_dict
    auth = quote(s["USER"] or "") + (":" + quote(s["PASSWORD"]) if s["PASSWORD"] else "")
    host = s["HOST"] or "127.0.0.1"
    return f"postgis://{auth}@{host}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture(scope="module")
def redis_url():
    if _redis_answers(REDIS_URL):
        yield REDIS_URL
        return
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                               "--save", "", "--appendonly", "no"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 20
    while not _redis_answers(url):
        assert time.monotonic() < deadline, "the private redis-server did not start"
        time.sleep(0.2)
    try:
        yield url
    finally:
        server.terminate()
        server.wait(timeout=20)


@pytest.fixture
def worker_env(transactional_db, redis_url):
    env = {k: v for k, v in os.environ.items()
           if k not in ("DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    env.update(DATABASE_URL=_database_url(), CELERY_BROKER_URL=redis_url,
               CELERY_RESULT_BACKEND=redis_url, DEBUG="false",
               SECRET_KEY="celery-test-" + "x" * 50, ALLOWED_HOSTS="localhost")
    return env


@pytest.fixture
def worker(worker_env):
    """A solo worker on a queue of its own (nothing else on the broker can take our task)."""
    queue = f"geocity-test-{uuid.uuid4().hex[:8]}"
    process = subprocess.Popen(
        [*CELERY, "worker", "--pool=solo", "-Q", queue, "--without-heartbeat",
         "--without-mingle", "--without-gossip", "--loglevel=INFO"],
        cwd=ROOT, env=worker_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        yield queue
    finally:
        process.terminate()
        try:
            output, _ = process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
        print(output[-4000:])  # shown by pytest when the test fails


def test_a_worker_on_redis_reroutes_reports(city, worker, worker_env):
    # given an untouched open pothole sitting with parks, committed (the worker must see it)
    report = f.ReportFactory(location=f.centre(), category=city.pothole,
                             department=city.parks, routing_rule="area")
    # when the re-route task is sent through Redis to the worker
    sent = subprocess.run(
        [*CELERY, "call", "reports.jobs.reroute_open_reports", "--queue", worker],
        cwd=ROOT, env=worker_env, capture_output=True, text=True, timeout=60)
    assert sent.returncode == 0, sent.stderr
    task_id = sent.stdout.strip()
    # then the worker runs it against the database: the report moves to roads, with an event
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        report.refresh_from_db()
        if report.department_id == city.roads.pk:
            break
        time.sleep(0.5)
    assert report.department == city.roads
    assert report.events.filter(type="rerouted").count() == 1
    result = subprocess.run([*CELERY, "result", task_id], cwd=ROOT, env=worker_env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "'changed': 1" in result.stdout
