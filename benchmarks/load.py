"""Load benchmark: the production stack (`make serve`) and `make run` under the same mixed
workload of residents, clerks and officials (benchmarks/_locustfile.py), driven by locust.

    python -m benchmarks load [--quick]        (make bench BENCH_ARGS=load)

Per target and request type: throughput, p50/p95/p99, errors; RSS of every web worker
process sampled every 10 s. Targets (README): 50 users for 10 minutes with 0 errors, tiles
answered from nginx's cache p95 < 50 ms, report POST p95 < 1 s, flat worker memory.

Both targets read the bench database (DATABASE_URL: the private cluster with its generated
reports). The report-creation throttles are raised for the run: every simulated resident
comes from 127.0.0.1, where a city's come from thousands of addresses. `make run` is served
as that command serves it (runserver, DEBUG on, local memory cache, tasks in-process),
without the autoreloader's extra parent process. Load generator and servers share the 2
cores: the figures are this machine's, side by side, not a capacity plan.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from . import common

ROOT = common.ROOT
USERS = 50
SPAWN_RATE = 5
DURATION_S = 600
QUICK_DURATION_S = 60
SAMPLE_EVERY_S = 10
BENCH_ENV = {"REPORT_RATE_IP": "100000/min", "REPORT_RATE_USER": "100000/min",
             "LOG_LEVEL": "WARNING"}
STACK = [sys.executable, str(ROOT / "geocity" / "stack.py")]


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


class RssSampler(threading.Thread):
    """RSS (MB) of each web worker every SAMPLE_EVERY_S seconds, until stopped."""

    def __init__(self, workers: callable) -> None:
        super().__init__(daemon=True)
        self.workers, self.samples, self.done = workers, [], threading.Event()
        self.started_at = time.monotonic()

    def run(self) -> None:
        while not self.done.is_set():
            pids = self.workers()
            self.samples.append({"t": round(time.monotonic() - self.started_at),
                                 "rss_mb": [round(_rss_kb(p) / 1024, 1) for p in pids]})
            self.done.wait(SAMPLE_EVERY_S)


def _locust(host: str, duration: int, out: Path) -> dict:
    prefix = out / "locust"
    cmd = [sys.executable, "-m", "locust", "-f", str(ROOT / "benchmarks" / "_locustfile.py"),
           "--headless", "--users", str(USERS), "--spawn-rate", str(SPAWN_RATE),
           "--run-time", f"{duration}s", "--host", host, "--csv", str(prefix),
           "--only-summary", "--stop-timeout", "10", "--loglevel", "WARNING"]
    print(f"load: locust, {USERS} users for {duration} s against {host}", flush=True)
    subprocess.run(cmd, cwd=ROOT, check=False, stdout=subprocess.DEVNULL)
    rows = {}
    with open(f"{prefix}_stats.csv", newline="") as f:
        for row in csv.DictReader(f):
            if row["Name"] == "Aggregated":
                continue
            rows[f"{row['Type']} {row['Name']}"] = {
                "requests": int(row["Request Count"]), "failures": int(row["Failure Count"]),
                "rps": round(float(row["Requests/s"]), 2),
                "p50": float(row["50%"]), "p95": float(row["95%"]), "p99": float(row["99%"]),
            }
    failures = []
    with open(f"{prefix}_failures.csv", newline="") as f:
        for row in csv.DictReader(f):
            failures.append({"name": row["Name"], "error": row["Error"][:200],
                             "count": int(row["Occurrences"])})
    real = {k: v for k, v in rows.items() if not k.startswith("CACHE ")}
    return {"requests": rows, "failures": failures,
            "total_requests": sum(v["requests"] for v in real.values()),
            "total_failures": sum(v["failures"] for v in real.values()),
            "total_rps": round(sum(v["rps"] for v in real.values()), 1)}


def _wait_up(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer in {timeout} s")


def _memory_summary(samples: list[dict]) -> dict:
    """Per-worker mean RSS at the first sample after warm-up (60 s) and at the end."""
    warm = [s for s in samples if s["t"] >= 60 and s["rss_mb"]] or samples
    first, last = warm[0]["rss_mb"], samples[-1]["rss_mb"]
    mean = lambda xs: round(sum(xs) / len(xs), 1) if xs else 0.0  # noqa: E731
    return {"workers": len(last), "mean_rss_mb_after_warmup": mean(first),
            "mean_rss_mb_at_end": mean(last), "max_rss_mb": max(
                (max(s["rss_mb"]) for s in samples if s["rss_mb"]), default=0.0)}


def run_stack(duration: int, out: Path) -> dict:
    env = dict(os.environ, **BENCH_ENV)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    was_running = (ROOT / "var" / "run" / "gunicorn.pid").exists()
    subprocess.run([*STACK, "start", "--replica"], cwd=ROOT, env=env, check=True)
    state = json.loads((ROOT / "var" / "run" / "stack.json").read_text())
    master = int((ROOT / "var" / "run" / "gunicorn.pid").read_text())
    sampler = RssSampler(lambda: _children(master))
    sampler.start()
    try:
        result = _locust(state["url"].rstrip("/"), duration, out)
    finally:
        sampler.done.set()
        sampler.join()
        if not was_running:
            subprocess.run([*STACK, "stop"], cwd=ROOT, check=False)
            _restart_private_cluster(state)
    result.update(memory=_memory_summary(sampler.samples), rss_samples=sampler.samples,
                  replica=bool(state.get("replica_urls")))
    return result


def _restart_private_cluster(state: dict) -> None:
    """`stack.py stop` also stops the private cluster; when that is the bench database, start
    it again for `make run`'s half (bootstrap.py db, as make does)."""
    if os.environ.get("DATABASE_URL", "").split("://")[-1] != \
            state.get("database_url", "").split("://")[-1]:
        return
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    subprocess.run(["python3", str(ROOT / "geocity" / "bootstrap.py"), "db"], cwd=ROOT,
                   env=env, check=True, stdout=subprocess.DEVNULL)


def run_devserver(duration: int, out: Path) -> dict:
    port = common.free_port()
    env = dict(os.environ, **BENCH_ENV, DJANGO_SETTINGS_MODULE="geocity.settings.local",
               DEBUG="true")
    for name in ("CACHE_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND",
                 "DATABASE_REPLICA_URLS", "SECRET_KEY"):
        env.pop(name, None)
    server = subprocess.Popen([sys.executable, "manage.py", "runserver", "--noreload",
                               f"127.0.0.1:{port}"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_up(f"http://127.0.0.1:{port}/healthz")
        sampler = RssSampler(lambda: [server.pid])
        sampler.start()
        try:
            result = _locust(f"http://127.0.0.1:{port}", duration, out)
        finally:
            sampler.done.set()
            sampler.join()
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    result.update(memory=_memory_summary(sampler.samples), rss_samples=sampler.samples)
    return result


def table(results: dict) -> str:
    stack, dev = results["make serve"], results["make run"]
    names = sorted(set(stack["requests"]) | set(dev["requests"]))
    lines = ["| Request type | `make serve` req/s | p50 / p95 / p99 ms | errors "
             "| `make run` req/s | p50 / p95 / p99 ms | errors |",
             "|---|---|---|---|---|---|---|"]

    def cells(side: dict, name: str) -> str:
        row = side["requests"].get(name)
        if row is None:
            return "– | – | –"
        return (f"{row['rps']} | {row['p50']:g} / {row['p95']:g} / {row['p99']:g} "
                f"| {row['failures']}")

    for name in names:
        lines.append(f"| {name} | {cells(stack, name)} | {cells(dev, name)} |")
    lines.append(f"| **all** | {stack['total_rps']} | | {stack['total_failures']} of "
                 f"{stack['total_requests']} | {dev['total_rps']} | | "
                 f"{dev['total_failures']} of {dev['total_requests']} |")
    for label, side in (("make serve", stack), ("make run", dev)):
        m = side["memory"]
        lines.append(f"\n{label}: {m['workers']} web worker(s), mean RSS "
                     f"{m['mean_rss_mb_after_warmup']} MB after 60 s -> "
                     f"{m['mean_rss_mb_at_end']} MB at the end (max {m['max_rss_mb']} MB)")
    return "\n".join(lines)


def run(args) -> dict:
    duration = QUICK_DURATION_S if args.quick else DURATION_S
    reports = common.ensure_reports(args.count)
    print("load: demo accounts (load_demo_city with DEBUG on, idempotent)", flush=True)
    subprocess.run([sys.executable, "manage.py", "load_demo_city", "--reports", "0"], cwd=ROOT,
                   env=dict(os.environ, DEBUG="true"), check=True, stdout=subprocess.DEVNULL)
    with tempfile.TemporaryDirectory(prefix="geocity-load-") as tmp:
        out = Path(tmp)
        (out / "serve").mkdir()
        (out / "run").mkdir()
        results = {"users": USERS, "duration_s": duration, "reports": reports,
                   "machine": common.machine(),
                   "make serve": run_stack(duration, out / "serve"),
                   "make run": run_devserver(duration, out / "run")}
    results["table"] = table(results)
    print(results["table"], flush=True)
    return results
