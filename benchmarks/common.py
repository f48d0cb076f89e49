"""Shared helpers for benchmarks: Django setup, timing and percentiles, tables, results,
generated data (`ensure_reports`), background servers and a fixed-concurrency load test.

Benchmarks never assert speed: they measure and write figures. The machine is shared and
noisy, so compare things measured side by side in the same run (ratios), not across runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"


# --- Django -------------------------------------------------------------------------------

def setup_django() -> None:
    """Django with DEBUG off (no query log eating memory and time), local defaults."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "geocity.settings.local")
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("SECRET_KEY", "bench-" + secrets.token_urlsafe(32))
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import logging

    import django

    django.setup()
    logging.getLogger("httpx").setLevel(logging.WARNING)


def database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        raise RuntimeError("DATABASE_URL is not set (make bench sets it).")
    return url


def libpq_url() -> str:
    """DATABASE_URL with a scheme libpq and asyncpg accept (postgis:// -> postgresql://)."""
    parts = urlsplit(database_url())
    return urlunsplit(("postgresql", *parts[1:]))


def manage(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], cwd=ROOT,
                          check=check, env=os.environ.copy())


def ensure_reports(count: int) -> int:
    """Make sure the bench database holds at least `count` reports; returns how many it has.

    Uses the lead's generator (`manage.py generate_reports`), after `load_demo_city` (without
    demo reports) when the database has no categories or service area yet.
    """
    from layers.models import ServiceArea
    from reports.models import Category, Report

    manage("migrate", "--noinput", "-v", "0")  # a new bench database, or one from a release ago
    if not Category.objects.exists() or not ServiceArea.objects.exists():
        print("bench: loading the demo city layers (no demo reports)", flush=True)
        manage("load_demo_city", "--reports", "0")
    have = Report.objects.count()
    if have >= count:
        return have
    command = ROOT / "fixtures" / "management" / "commands" / "generate_reports.py"
    if not command.exists():
        raise RuntimeError("manage.py generate_reports is not available yet.")
    missing = count - have
    print(f"bench: generating {missing} reports (have {have}, want {count})", flush=True)
    started = time.perf_counter()
    manage("generate_reports", "--count", str(missing), "--no-progress")
    print(f"bench: generated in {time.perf_counter() - started:.0f} s", flush=True)
    return Report.objects.count()


# --- Timing -------------------------------------------------------------------------------

def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile, q in 0..100."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    k = (len(ordered) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def summary(values: Sequence[float]) -> dict:
    """p50/p95/mean/min/max/n of timings in milliseconds (rounded for reading)."""
    if not values:
        return {"n": 0}
    return {
        "p50": round(percentile(values, 50), 3),
        "p95": round(percentile(values, 95), 3),
        "mean": round(statistics.fmean(values), 3),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
        "n": len(values),
    }


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    """(milliseconds, result) of one call."""
    started = time.perf_counter()
    result = fn()
    return (time.perf_counter() - started) * 1000, result


class WsgiResponse:
    def __init__(self, status: str, headers: list[tuple[str, str]], content: bytes) -> None:
        self.status_code = int(status.split()[0])
        self.headers = dict(headers)
        self.content = content


class WsgiClient:
    """GET through the project's WSGI application (`geocity.wsgi.application`, Django's own
    handler, which is what gunicorn serves) exactly as a WSGI server calls it: URL routing,
    the whole middleware chain and the request signals. Django's test `Client` adds its own
    instrumentation per request (signal hooks for templates and exceptions, cookie
    bookkeeping): ~0.4 ms that no server pays.

    `elapsed_ms` of the last request times the application call and reading its body,
    not building the WSGI environ: that is the HTTP server's work, done before any
    application code runs, as the raw SQL timings leave out the database driver's socket
    set-up.
    """

    def __init__(self) -> None:
        from django.test import RequestFactory

        from geocity.wsgi import application

        self.app = application
        self.factory = RequestFactory()
        self.elapsed_ms = 0.0

    def get(self, path: str, **headers: str) -> WsgiResponse:
        environ = self.factory.get(path, **headers).environ
        started: list = []

        def start_response(status, response_headers, exc_info=None):
            started[:] = [status, response_headers]

        began = time.perf_counter()
        chunks = self.app(environ, start_response)
        try:
            content = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close:
                close()
        self.elapsed_ms = (time.perf_counter() - began) * 1000
        return WsgiResponse(started[0], started[1], content)


def ratio(a: float, b: float) -> float | None:
    return round(a / b, 2) if b else None


# --- Output -------------------------------------------------------------------------------

def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    def cell(v: object) -> str:
        if isinstance(v, float):
            return f"{v:,.2f}" if abs(v) < 1000 else f"{v:,.0f}"
        if isinstance(v, int):
            return f"{v:,}"
        return "" if v is None else str(v)

    text = [[cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in text)) if text else len(h)
              for i, h in enumerate(headers)]
    print(f"\n{title}")
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in text:
        print("  ".join(v.rjust(w) for v, w in zip(row, widths, strict=True)))


def machine() -> dict:
    return {"python": platform.python_version(), "cpus": os.cpu_count(),
            "platform": platform.platform(), "when": time.strftime("%Y-%m-%d %H:%M:%S")}


def write_results(name: str, data: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
    return path


# --- Servers and load ---------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def background_server(cmd: Sequence[str], *, port: int, env: dict | None = None,
                      ready_path: str = "/", timeout: float = 90) -> Iterator[str]:
    """Start `cmd` (listening on `port`), wait until `ready_path` answers, yield the base URL,
    and stop it (by its own process id) afterwards."""
    import httpx

    base = f"http://127.0.0.1:{port}"
    log = open(Path(tempfile.gettempdir()) / f"bench-server-{port}.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(list(cmd), cwd=ROOT, env={**os.environ, **(env or {})},
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{cmd[0:3]} exited with {proc.returncode}; see {log.name}")
            try:
                if httpx.get(base + ready_path, timeout=2).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{cmd[0:3]} did not answer on {base}{ready_path}")
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def load_test(urls: Sequence[str], *, concurrency: int, requests: int,
              headers: dict | None = None) -> dict:
    """`requests` GETs spread round-robin over `urls` by `concurrency` threads, each with its
    own keep-alive connection. Throughput and latency (ms) over the whole run."""
    import httpx

    latencies: list[float] = []
    errors: list[str] = []
    sizes: list[int] = []
    lock = threading.Lock()
    counter = iter(range(requests))

    def worker() -> None:
        with httpx.Client(headers=headers, timeout=60) as client:
            while True:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                url = urls[i % len(urls)]
                started = time.perf_counter()
                try:
                    response = client.get(url)
                    ok = response.status_code in (200, 204)
                    size = len(response.content)
                except httpx.HTTPError as exc:
                    ok, size = False, 0
                    response = exc
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    latencies.append(elapsed)
                    sizes.append(size)
                    if not ok:
                        errors.append(str(getattr(response, "status_code", response)))

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    return {
        "requests": requests, "concurrency": concurrency, "seconds": round(wall, 2),
        "throughput_rps": round(requests / wall, 1), "latency_ms": summary(latencies),
        "errors": len(errors), "error_samples": errors[:5],
        "bytes_mean": int(statistics.fmean(sizes)) if sizes else 0,
    }
