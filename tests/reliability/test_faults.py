"""Faults survived, nothing lost: tests that start and stop real processes (a private
PostgreSQL cluster, a private redis-server, the application under gunicorn, Celery
workers; tests/reliability/processes.py) and check that no report, mail or cache bust is
lost or doubled.

- PostgreSQL restarted while reports are posted: every POST is a 2xx whose report exists,
  or a 503 after which the client's retry with the same Idempotency-Key creates it once;
- Redis (cache and broker) down: a report POST succeeds, tiles serve (uncached), its mail
  is sent in-process, and the tile bust held back reaches the cache once Redis is back;
- a Celery worker killed mid-task: the task goes back to the queue (acks late) and another
  worker runs it, once.
Full or unwritable photo storage is in test_storage_faults.py (in-process, real files).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import mapbox_vector_tile
import pytest

from .figures import tally
from .processes import ROOT, PrivatePostgres, PrivateRedis, Server, app_env, manage, wait_for

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")

LAT, LON = 48.4647, 35.0462
# The z14 tile holding the city's centre (the reports layer draws points from z13).
TILE = "/tiles/reports/14/9786/5663.pbf"


@pytest.fixture(scope="module")
def postgres():
    pg = PrivatePostgres()
    env = app_env(DATABASE_URL=pg.url, CACHE_URL="locmemcache://faults")
    manage(env, "migrate", "--noinput", "-v", "0")
    seeded = subprocess.run([sys.executable, "-m", "tests.reliability.seed_world"], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=120)
    assert seeded.returncode == 0, seeded.stderr
    pg.first_report = int(seeded.stdout.split()[-1])
    yield pg
    pg.close()


@pytest.fixture
def redis():
    server = PrivateRedis()
    yield server
    server.close()


@pytest.fixture
def mail_dir():
    with tempfile.TemporaryDirectory(prefix="geocity-faults-mail-") as path:
        yield Path(path)


def report_body(description: str) -> bytes:
    return json.dumps({"category": "pothole", "lat": LAT, "lon": LON,
                       "description": description,
                       "contact": {"email": "resident@example.org"}}).encode()


POST_HEADERS = {"Content-Type": "application/json"}


def post_until_created(server: Server, key: str, outcomes: list) -> int:
    """A client that retries with the same Idempotency-Key after a 503 or a dropped
    connection, as the API asks; returns the report's number."""
    body = report_body(f"Pothole {key}")
    for _attempt in range(100):
        try:
            status, headers, content = server.request(
                "POST", "/api/v1/reports/", body, {**POST_HEADERS, "Idempotency-Key": key})
        except OSError as exc:  # the connection dropped: the client cannot know, so retries
            outcomes.append(("dropped", type(exc).__name__))
            time.sleep(0.2)
            continue
        outcomes.append(status)
        if status in (200, 201):
            return json.loads(content)["number"]
        assert status == 503, (status, content[:500])
        data = json.loads(content)
        assert data["code"] == "database_unavailable" and "Retry-After" in headers, data
        time.sleep(0.2)
    raise AssertionError(f"key {key} was never created: {outcomes[-5:]}")


def test_postgres_restarted_while_reports_are_posted(postgres):
    # given the application on a private PostgreSQL, keeping connections (CONN_MAX_AGE)
    server = Server(app_env(DATABASE_URL=postgres.url, CACHE_URL="locmemcache://faults",
                            REPORT_RATE_IP="100000/min", REPORT_RATE_USER="100000/min",
                            CONN_MAX_AGE="600"))
    before = int(postgres.psql("SELECT count(*) FROM reports_report"))
    keys = [str(uuid.uuid4()) for _ in range(60)]
    outcomes: list = []
    numbers: dict[str, int] = {}
    restarts = 0
    try:
        def client(share: list[str]) -> None:
            for key in share:
                numbers[key] = post_until_created(server, key, outcomes)

        threads = [threading.Thread(target=client, args=(keys[i::3],)) for i in range(3)]
        # when reports are posted by three clients while the database restarts, three times
        for thread in threads:
            thread.start()
        for _ in range(3):
            seen = len(outcomes)
            wait_for(lambda seen=seen: len(outcomes) > seen + 5, "more posts")
            postgres.restart()
            restarts += 1
        for thread in threads:
            thread.join(timeout=300)
        # and one more restart between requests: the next request on each kept
        # connection finds it dead
        postgres.restart()
        restarts += 1
        tail_keys = [str(uuid.uuid4()) for _ in range(4)]
        for key in tail_keys:
            numbers[key] = post_until_created(server, key, outcomes)
    finally:
        server.close()
    # then every key made exactly one report, and every number answered exists
    keys += tail_keys
    assert set(numbers) == set(keys)
    rows = postgres.psql("SELECT key, count(*) FROM reports_idempotencykey GROUP BY key")
    per_key = dict(line.split("|") for line in rows.splitlines())
    assert {k: int(v) for k, v in per_key.items() if k in numbers} == dict.fromkeys(keys, 1)
    after = int(postgres.psql("SELECT count(*) FROM reports_report"))
    assert after - before == len(keys)
    existing = {int(n) for n in postgres.psql("SELECT id FROM reports_report").split()}
    assert set(numbers.values()) <= existing
    # and nothing but a 2xx, a 503 or a dropped connection was ever answered
    statuses = [o for o in outcomes if isinstance(o, int)]
    assert set(statuses) <= {200, 201, 503}
    tally("fault", scenario="postgres-restart", injected=restarts, posts=len(outcomes),
          retried=len(outcomes) - len(keys), unavailable=statuses.count(503),
          dropped=len(outcomes) - len(statuses), survived=True)


def tile_numbers(server: Server) -> set[int]:
    status, _headers, content = server.get(TILE, {"Accept-Encoding": "identity"})
    assert status in (200, 204), (status, content[:300])
    if status == 204:
        return set()
    layers = mapbox_vector_tile.decode(content)
    return {f["properties"]["id"] for layer in layers.values() for f in layer["features"]
            if "id" in f["properties"]}


def mails_about(mail_dir: Path, number: int) -> int:
    return sum(f"/reports/{number}/" in path.read_text(errors="replace")
               for path in mail_dir.glob("*.log"))


def test_redis_down_reports_tiles_and_side_effects_survive(postgres, redis, mail_dir):
    # given the application with Redis as its cache and broker, and a tile in the cache
    server = Server(app_env(DATABASE_URL=postgres.url, CACHE_URL=f"{redis.url}/1",
                            CELERY_BROKER_URL=f"{redis.url}/0", EMAIL_URL=f"filemail:///{mail_dir}",
                            REPORT_RATE_IP="100000/min"))
    try:
        cached = tile_numbers(server)
        assert postgres.first_report in cached
        assert redis.command("-n", "1", "DBSIZE") != "0"
        # when Redis goes down (its keys kept, as after a partition) and a report is posted
        redis.down()
        status, _h, content = server.request("POST", "/api/v1/reports/",
                                             report_body("Pothole during the outage"),
                                             POST_HEADERS)
        # then the report is created and its mail is sent in-process, not lost
        assert status == 201, content[:500]
        number = json.loads(content)["number"]
        assert number in {int(n) for n in postgres.psql("SELECT id FROM reports_report").split()}
        assert mails_about(mail_dir, number) == 1, (list(mail_dir.iterdir()), server.output())
        # and the tile is served, uncached, with the new report
        assert number in tile_numbers(server)
        # when Redis is back, still holding the tile cached before the change
        redis.up()
        # then the bust held back reaches it: the tile shows the new report
        assert number in tile_numbers(server)
        assert mails_about(mail_dir, number) == 1
    finally:
        server.close()
    tally("fault", scenario="redis-down", injected=1, survived=True)


def test_worker_killed_mid_task_runs_it_again_once(postgres, redis, mail_dir):
    # given a worker that takes a task and is killed while running it (acks late)
    env = app_env(DATABASE_URL=postgres.url, CACHE_URL="locmemcache://faults",
                  CELERY_BROKER_URL=f"{redis.url}/0", EMAIL_URL=f"filemail:///{mail_dir}",
                  CELERY_VISIBILITY_TIMEOUT="3")
    stall_dir = Path(tempfile.mkdtemp(prefix="geocity-faults-stall-"))
    env["STALL_DIR"] = str(stall_dir)
    queue = f"faults-{uuid.uuid4().hex[:8]}"
    worker_args = ["worker", "--pool=solo", "-Q", queue, "--without-heartbeat",
                   "--without-mingle", "--without-gossip", "--loglevel=WARNING"]
    first = subprocess.Popen([sys.executable, "-m", "celery", "-A",
                              "tests.reliability.stall_worker", *worker_args],
                             cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    number = postgres.first_report
    second = None
    try:
        sent = subprocess.run(
            [sys.executable, "-m", "celery", "-A", "geocity", "call",
             "reports.tasks.send_report_received", "--args", json.dumps([number]),
             "--queue", queue], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert sent.returncode == 0, sent.stderr
        task_id = sent.stdout.strip()
        wait_for(lambda: (stall_dir / task_id).exists(), "the first worker taking the task")
        # when that worker is killed mid-task
        first.kill()
        first.wait(timeout=30)
        assert mails_about(mail_dir, number) == 0
        # and another worker serves the queue
        second = subprocess.Popen([sys.executable, "-m", "celery", "-A", "geocity",
                                   *worker_args], cwd=ROOT, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # then the task is delivered again and its mail is sent, once
        wait_for(lambda: mails_about(mail_dir, number) >= 1, "the retried task", timeout=120)
        time.sleep(1)  # a second delivery, were there one, would be as quick as the first
        assert mails_about(mail_dir, number) == 1
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(timeout=30)
        shutil.rmtree(stall_dir, ignore_errors=True)
    tally("fault", scenario="worker-killed", injected=1, survived=True)
