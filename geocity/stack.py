#!/usr/bin/env python3
"""The production stack on one machine (`make serve`, `make stop`): real engines, no containers.

    python3 geocity/stack.py start [--replica] [--demo]   bring up what is not running
    python3 geocity/stack.py stop                          stop everything, the cluster too
    python3 geocity/stack.py status                        what runs, where, its log

What runs, each with its log in VAR/log/ (VAR: var/, or GEOCITY_VAR): the private PostGIS
primary (geocity/bootstrap.py, unless DATABASE_URL is given), an optional streaming replica
(pg_basebackup into VAR/postgres-replica), a private Redis (broker, results, cache; unless
both CELERY_BROKER_URL and CACHE_URL are given), gunicorn with
`geocity.settings.production`, a Celery worker and beat, nginx in front. Config files are
rendered from deploy/ by `geocity.deployconf` through the Django settings.

A second `start` finds what runs (pid files checked against /proc) and starts only what is
missing; nginx reloads its re-rendered config, gunicorn reloads its code (HUP), and the app
processes restart when their environment changed. Standard library only, so that `stop`
works without the virtualenv. SERVE_HOST/SERVE_PORT/SERVE_HTTP_PORT are read here only to
pick free ports (a busy one moves to the next); the chosen ports are passed to the settings.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bootstrap as boot  # noqa: E402 - the sibling module, standard library only as well

ROOT = boot.ROOT
VAR = boot.VAR
RUN, LOG, DEPLOY = VAR / "run", VAR / "log", VAR / "deploy"
STATE = RUN / "stack.json"
REPLICA_DATA = VAR / "postgres-replica"
REPLICA_SLOT = "geocity_replica"
VENV_PY = ROOT / ".venv" / "bin" / "python"
FIRST_REDIS_PORT = 6380
FIRST_REPLICA_PORT = 5440
STOP_TIMEOUT_S = 40
HEALTH_TIMEOUT_S = 120
# Processes started here: name -> a word their command line must hold (a pid file never
# makes us signal a stranger that reused the pid).
MARKERS = {"nginx": "nginx", "gunicorn": "gunicorn", "celery-beat": "celery",
           "celery-worker": "celery", "redis": "redis-server"}
APP_PROCESSES = ("gunicorn", "celery-worker", "celery-beat")

info, fail = boot.info, boot.fail


# --- processes ------------------------------------------------------------------------------

def _pidfile(name: str) -> Path:
    return RUN / f"{name}.pid"


def _alive(pid: int, marker: str) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return False
    state = stat.rsplit(")", 1)[-1].split()[0]
    return state not in ("Z", "X") and marker in cmdline


def running(name: str) -> int | None:
    """The pid of our `name` process when it runs, else None."""
    try:
        pid = int(_pidfile(name).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if _alive(pid, MARKERS[name]) else None


def _spawn(name: str, cmd: list[str], env: dict[str, str]) -> subprocess.Popen:
    LOG.mkdir(parents=True, exist_ok=True)
    with open(LOG / f"{name}.log", "ab") as log:
        log.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting: {' '.join(cmd)}\n"
                  .encode())
        log.flush()
        process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                   stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    _pidfile(name).write_text(f"{process.pid}\n")
    return process


def _wait_gone(pid: int, marker: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid, marker):
            return True
        time.sleep(0.2)
    return not _alive(pid, marker)


def _stop_process(name: str) -> None:
    pid = running(name)
    if pid is None:
        _pidfile(name).unlink(missing_ok=True)
        return
    os.kill(pid, signal.SIGQUIT if name == "nginx" else signal.SIGTERM)  # graceful for each
    if not _wait_gone(pid, MARKERS[name], STOP_TIMEOUT_S):
        info(f"{name} (pid {pid}) did not stop in {STOP_TIMEOUT_S} s: killing it")
        os.kill(pid, signal.SIGKILL)
        _wait_gone(pid, MARKERS[name], 10)
    _pidfile(name).unlink(missing_ok=True)
    info(f"Stopped {name} (pid {pid}).")


# --- state and ports -------------------------------------------------------------------------

def _state() -> dict:
    try:
        return json.loads(STATE.read_text())
    except (OSError, ValueError):
        return {}


def _remember(state: dict, **ports: int | None) -> None:
    """Save the ports of what was just started at once: a start that fails later on (nginx
    missing, a migration error) must not leave a running Redis or replica that the next start
    takes for a stranger's and moves away from."""
    state.update(ports)
    STATE.write_text(json.dumps(state, indent=2) + "\n")


def _port(key: str, state: dict, host: str, wanted: int, *, ours_running: bool) -> int:
    """The port of a component: its current one while it runs, else `wanted` (or the saved
    one) when free, else the next free one."""
    saved = state.get(key)
    if ours_running and saved:
        return int(saved)
    for candidate in (wanted, saved):
        if candidate and boot._port_free(host, int(candidate)):
            return int(candidate)
    chosen = boot._next_free_port(host, wanted + 1)
    info(f"Port {wanted} on {host} is in use; {key} moves to {chosen}")
    return chosen


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit():
        fail(f"{name} must be a port number, got {raw!r}")
    return int(raw)


# --- the database: primary (bootstrap) and replica -------------------------------------------

def _primary_url() -> str:
    result = subprocess.run([sys.executable, str(ROOT / "geocity" / "bootstrap.py"), "db"],
                            stdout=subprocess.PIPE, text=True,
                            env=dict(os.environ, GEOCITY_VAR=str(VAR)))
    if result.returncode != 0:
        sys.exit(result.returncode)
    return result.stdout.strip().splitlines()[-1]


def _private_url() -> str:
    """The URL of the private cluster (what `bootstrap.py db` prints without DATABASE_URL)."""
    try:
        port = int(boot.PORT_FILE.read_text().strip())
    except (OSError, ValueError):
        return ""
    return f"postgis://postgres@127.0.0.1:{port}/{boot.DB_NAME}"


def _replica_running() -> bool:
    if not (REPLICA_DATA / "PG_VERSION").exists():
        return False
    status = boot._run([str(boot.PG_BIN / "pg_ctl"), "-D", str(REPLICA_DATA), "status"])
    return status.returncode == 0


def _start_replica(primary_port: int, state: dict) -> int:
    """A streaming replica of the private primary: pg_basebackup once, then pg_ctl start."""
    running_now = _replica_running()
    port = _port("replica_port", state, "127.0.0.1", FIRST_REPLICA_PORT, ours_running=running_now)
    if running_now:
        return port
    admin = f"postgresql://postgres@127.0.0.1:{primary_port}/postgres"
    if not (REPLICA_DATA / "PG_VERSION").exists():
        if REPLICA_DATA.exists() and any(REPLICA_DATA.iterdir()):
            fail(f"{REPLICA_DATA} exists but holds no cluster; it is left untouched. "
                 "Move it aside to let make serve make a fresh replica.")
        info(f"Copying the primary into a streaming replica in {REPLICA_DATA} (pg_basebackup)")
        # The slot keeps WAL the replica has not received (at most 4 GB of it: a replica
        # gone for good must not fill the primary's disk).
        drop_orphan = (f"SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "  # noqa: S608 - a constant
                       f"WHERE slot_name = '{REPLICA_SLOT}' AND NOT active")
        for sql in (drop_orphan, "ALTER SYSTEM SET max_slot_wal_keep_size = '4GB'",
                    "SELECT pg_reload_conf()"):
            done = boot._psql(admin, sql)
            if done.returncode != 0:
                fail(f"Preparing the primary for a replica failed: {done.stderr.strip()}")
        REPLICA_DATA.mkdir(mode=0o700, parents=True, exist_ok=True)
        boot._chown_for_postgres(REPLICA_DATA)
        copied = boot._run([str(boot.PG_BIN / "pg_basebackup"), "-h", "127.0.0.1",
                            "-p", str(primary_port), "-U", "postgres", "-D", str(REPLICA_DATA),
                            "-R", "-X", "stream", "-C", "-S", REPLICA_SLOT, "--checkpoint=fast"])
        if copied.returncode != 0:
            fail(f"pg_basebackup failed:\n{copied.stderr.strip()}")
    log = LOG / "postgres-replica.log"
    log.touch()
    if os.geteuid() == 0:
        pg = boot.pwd.getpwnam("postgres")
        os.chown(log, pg.pw_uid, pg.pw_gid)
    conninfo = f"host=127.0.0.1 port={primary_port} user=postgres application_name=geocity_replica"
    info(f"Starting the replica on 127.0.0.1:{port} (log: {log})")
    started = boot._run([str(boot.PG_BIN / "pg_ctl"), "-D", str(REPLICA_DATA), "-l", str(log),
                         "-w", "-t", "60", "-o",
                         f"-p {port} -k {boot.PGRUN} -c hot_standby=on "
                         f"-c hot_standby_feedback=on -c primary_conninfo='{conninfo}'", "start"])
    if started.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-15:]
        fail("The replica did not start:\n    " + "\n    ".join(tail or [started.stderr]))
    return port


def _stop_cluster(data: Path, label: str) -> None:
    if not (data / "PG_VERSION").exists():
        return
    if boot._run([str(boot.PG_BIN / "pg_ctl"), "-D", str(data), "status"]).returncode != 0:
        return
    stopped = boot._run([str(boot.PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"])
    if stopped.returncode != 0:
        fail(f"pg_ctl stop of the {label} failed: {stopped.stderr.strip()}")
    info(f"Stopped the {label}.")


# --- helpers of start ------------------------------------------------------------------------

def _secret_key() -> str:
    given = os.environ.get("SECRET_KEY", "")
    if given:
        return given
    path = VAR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50) + "\n")
        path.chmod(0o600)
    return path.read_text().strip()


def _self_signed_certificate() -> None:
    cert, key = VAR / "tls" / "selfsigned.crt", VAR / "tls" / "selfsigned.key"
    if cert.exists() and key.exists():
        return
    cert.parent.mkdir(parents=True, exist_ok=True)
    info(f"Making a self-signed certificate for localhost in {cert.parent} "
         "(set TLS_CERT_FILE and TLS_KEY_FILE for a real one)")
    made = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "825",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)], capture_output=True, text=True)
    if made.returncode != 0:
        fail(f"openssl could not make a certificate: {made.stderr.strip()}")
    key.chmod(0o600)


def _redis_answers(port: int) -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _run_checked(what: str, cmd: list[str], env: dict[str, str]) -> None:
    LOG.mkdir(parents=True, exist_ok=True)
    with open(LOG / "deploy.log", "ab") as log:
        log.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} {what}\n".encode())
        log.flush()
        result = subprocess.run(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        tail = (LOG / "deploy.log").read_text(errors="replace").splitlines()[-20:]
        fail(f"{what} failed (exit {result.returncode}); the end of {LOG / 'deploy.log'}:\n    "
             + "\n    ".join(tail))


def _chown_for_nginx(*dirs: Path) -> None:
    for path in dirs:
        path.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            boot.pwd.getpwnam("www-data")
            subprocess.run(["chown", "-R", "www-data:www-data", str(path)], check=True)


def _settings_variables() -> set[str]:
    """The variables the settings read (settings/base.py and production.py name them)."""
    names = {"DJANGO_SETTINGS_MODULE"}
    for module in ("base.py", "production.py"):
        text = (ROOT / "geocity" / "settings" / module).read_text(encoding="utf-8")
        names.update(re.findall(r'env(?:_int|_bool|\.[a-z_]+)?\(\s*"([A-Z][A-Z0-9_]*)"', text))
    return names


def _fingerprint(env: dict[str, str]) -> str:
    """What the app processes were started with: a change restarts them."""
    text = "\n".join(f"{k}={env.get(k, '')}" for k in sorted(_settings_variables()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _static_fingerprint(static_root: str) -> str:
    """What collectstatic would read (sizes and times of the static sources, the npm
    install): unchanged, the ~30 s of hashing and compressing are skipped."""
    digest = hashlib.sha256(static_root.encode())
    skip = (ROOT / "var", VAR, Path(static_root).resolve())
    sources = [ROOT / "node_modules" / ".installed",
               *(d for d in ROOT.glob("*/static") if d.resolve() not in skip)]
    for source in sorted(sources):
        paths = sorted(source.rglob("*")) if source.is_dir() else [source]
        for path in paths:
            if path.is_file():
                st = path.stat()
                digest.update(f"{path}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def _wait_healthy(port: int, tls: bool) -> dict:
    url = f"{'https' if tls else 'http'}://127.0.0.1:{port}/healthz"
    context = ssl._create_unverified_context() if tls else None  # noqa: S323 - our own cert
    deadline, last = time.monotonic() + HEALTH_TIMEOUT_S, "no answer"
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5, context=context) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}: {exc.read()[:500].decode(errors='replace')}"
        except (OSError, ValueError) as exc:
            last = str(exc)
        time.sleep(0.5)
    fail(f"The stack did not become healthy at {url} in {HEALTH_TIMEOUT_S} s: {last}\n"
         f"    Logs: {LOG}/")
    raise AssertionError  # unreachable


# --- commands --------------------------------------------------------------------------------

def cmd_start(args: list[str]) -> None:
    unknown = [a for a in args if a not in ("--replica", "--demo")]
    if unknown:
        fail(f"unknown option(s) {' '.join(unknown)}; "
             "usage: stack.py start [--replica] [--demo]", 2)
    if not VENV_PY.exists():
        fail(f"{VENV_PY} is missing: run `make serve` (it installs the virtualenv first).")
    missing = [p for p in ("nginx", "redis-server") if shutil.which(p) is None]
    if missing:
        fail(f"{' and '.join(missing)} not found: run `make serve` (it installs them from "
             "Debian's packages first), or `make system-stack`.")
    for path in (RUN, LOG, DEPLOY, VAR / "redis"):
        path.mkdir(parents=True, exist_ok=True)
    state = _state()
    host = os.environ.get("SERVE_HOST", "").strip() or "127.0.0.1"
    nginx_pid = running("nginx")
    serve_port = _port("serve_port", state, host, _env_int("SERVE_PORT", 8443),
                       ours_running=nginx_pid is not None)
    http_port = _port("http_port", state, host, _env_int("SERVE_HTTP_PORT", 8080),
                      ours_running=nginx_pid is not None)
    if http_port == serve_port:
        http_port = boot._next_free_port(host, serve_port + 1)
    tls = os.environ.get("SERVE_TLS", "true").strip().lower() not in ("0", "false", "no", "off")

    database_url = _primary_url()
    private_db = database_url == _private_url()
    replica_url = os.environ.get("DATABASE_REPLICA_URLS", "").strip()
    replica_port = None
    if ("--replica" in args or _replica_running()) and not replica_url:
        if not private_db:
            fail("--replica makes a replica of the private cluster; with your own DATABASE_URL "
                 "give your replicas in DATABASE_REPLICA_URLS instead.")
        primary_port = int(database_url.rsplit(":", 1)[1].split("/", 1)[0])
        replica_port = _start_replica(primary_port, state)
        _remember(state, replica_port=replica_port)
        replica_url = database_url.replace(f":{primary_port}/", f":{replica_port}/")

    redis_pid = running("redis")
    private_redis = not (os.environ.get("CELERY_BROKER_URL") and os.environ.get("CACHE_URL"))
    redis_port = _port("redis_port", state, "127.0.0.1", FIRST_REDIS_PORT,
                       ours_running=redis_pid is not None) if private_redis else 0

    env = dict(os.environ)
    env.update(DJANGO_SETTINGS_MODULE="geocity.settings.production", GEOCITY_VAR=str(VAR),
               DATABASE_URL=database_url, SECRET_KEY=_secret_key(), SERVE_HOST=host,
               SERVE_PORT=str(serve_port), SERVE_HTTP_PORT=str(http_port))
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    if replica_url:
        env["DATABASE_REPLICA_URLS"] = replica_url
    if private_redis:
        redis = f"redis://127.0.0.1:{redis_port}"
        env.setdefault("CELERY_BROKER_URL", f"{redis}/0")
        env.setdefault("CELERY_RESULT_BACKEND", f"{redis}/1")
        env.setdefault("CACHE_URL", f"{redis}/2")
    scheme = "https" if tls else "http"
    for name, value in (("NUM_PROXIES", "1"), ("STATIC_ROOT", str(VAR / "static")),
                        ("MEDIA_ROOT", str(VAR / "media")),
                        ("PRIVATE_MEDIA_ROOT", str(VAR / "private")),
                        ("SITE_URL", f"{scheme}://{'localhost' if host == '127.0.0.1' else host}"
                                     f":{serve_port}")):
        env.setdefault(name, value)

    _run_checked("render deploy/", [str(VENV_PY), "-m", "geocity.deployconf", "--var", str(VAR),
                                    "--out", str(DEPLOY), "--redis-port", str(redis_port or 6380)],
                 env)
    if private_redis and redis_pid is None:
        server = _spawn("redis", ["redis-server", str(DEPLOY / "redis.conf")], env)
        deadline = time.monotonic() + 20
        while not _redis_answers(redis_port):
            if time.monotonic() > deadline or server.poll() is not None:
                fail(f"Redis did not start on port {redis_port}; see {LOG / 'redis.log'}")
            time.sleep(0.2)
        info(f"Redis on 127.0.0.1:{redis_port} (log: {LOG / 'redis.log'})")
        _remember(state, redis_port=redis_port)

    manage = [str(VENV_PY), str(ROOT / "manage.py")]
    _run_checked("migrate", [*manage, "migrate", "--noinput"], env)
    if "--demo" in args:  # demo accounts exist only with DEBUG: for this one command
        _run_checked("load_demo_city", [*manage, "load_demo_city"], dict(env, DEBUG="true"))
    static = _static_fingerprint(env["STATIC_ROOT"])
    manifest = Path(env["STATIC_ROOT"]) / "staticfiles.json"
    if static != state.get("static") or not manifest.exists():
        _run_checked("collectstatic", [*manage, "collectstatic", "--noinput", "-v", "0"], env)
    if tls and not env.get("TLS_CERT_FILE"):
        _self_signed_certificate()

    fingerprint = _fingerprint(env)
    changed = state.get("fingerprint") != fingerprint
    gunicorn_pid = running("gunicorn")
    if gunicorn_pid is not None and not changed:
        os.kill(gunicorn_pid, signal.SIGHUP)  # new code and config, workers replaced gracefully
        info(f"gunicorn (pid {gunicorn_pid}) runs: reloaded")
    for name, cmd in (
        ("gunicorn", [str(ROOT / ".venv" / "bin" / "gunicorn"), "-c",
                      str(DEPLOY / "gunicorn.conf.py")]),
        ("celery-worker", [str(VENV_PY), "-m", "celery", "-A", "geocity", "worker",
                           "--loglevel=INFO", "-n", "geocity@%h"]),
        ("celery-beat", [str(VENV_PY), "-m", "celery", "-A", "geocity", "beat",
                         "--loglevel=INFO", "--schedule", str(RUN / "celerybeat-schedule")]),
    ):
        pid = running(name)
        if pid is not None and changed:
            info(f"{name} runs with another environment: restarting it")
            _stop_process(name)
            pid = None
        if pid is None:
            pid = _spawn(name, cmd, env).pid
            info(f"Started {name} (pid {pid}, log: {LOG / (name + '.log')})")
    _chown_for_nginx(VAR / "nginx", VAR / "cache" / "nginx", VAR / "cache" / "nginx-api")
    nginx = ["nginx", "-c", str(DEPLOY / "nginx.conf"), "-p", str(VAR / "nginx"),
             "-e", str(LOG / "nginx-error.log")]
    if nginx_pid is not None:
        _run_checked("nginx -s reload", [*nginx, "-s", "reload"], env)
        info(f"nginx (pid {nginx_pid}) runs: reloaded its config")
    else:
        _run_checked("nginx -t", [*nginx, "-t", "-q"], env)
        _run_checked("nginx", nginx, env)  # it daemonises itself, writing RUN/nginx.pid

    state = {"serve_port": serve_port, "http_port": http_port, "redis_port": redis_port,
             "replica_port": replica_port, "tls": tls, "fingerprint": fingerprint,
             "static": static,
             "database_url": database_url, "replica_urls": replica_url,
             "cache_url": env["CACHE_URL"] if "CACHE_URL" in env else "",
             "broker_url": env.get("CELERY_BROKER_URL", ""),
             "url": f"{scheme}://127.0.0.1:{serve_port}/", "var": str(VAR)}
    STATE.write_text(json.dumps(state, indent=2) + "\n")
    health = _wait_healthy(serve_port, tls)
    checks = ", ".join(f"{k} {v['status']}" for k, v in health["checks"].items()
                       if isinstance(v, dict) and "status" in v)
    print(f"\nOpen City (production stack): {state['url']}  health: {checks}"
          f"{' + replica' if replica_url else ''}\nLogs: {LOG}/   Stop: make stop\n",
          file=sys.stderr)


def cmd_stop(_args: list[str]) -> None:
    for name in ("nginx", "gunicorn", "celery-beat", "celery-worker", "redis"):
        _stop_process(name)
    _stop_cluster(REPLICA_DATA, "replica")
    boot.cmd_stop([])


def cmd_status(_args: list[str]) -> None:
    state = _state()
    for name in ("nginx", "gunicorn", "celery-worker", "celery-beat", "redis"):
        pid = running(name)
        log = LOG / ("nginx-error.log" if name == "nginx" else f"{name}.log")
        print(f"{name:14} {'pid ' + str(pid) if pid else 'stopped':12} {log}")
    print(f"{'replica':14} {'running' if _replica_running() else 'stopped':12} "
          f"{LOG / 'postgres-replica.log'}")
    print(f"{'primary':14} {'running' if boot._cluster_running() else 'stopped':12} "
          f"{LOG / 'postgres.log'}")
    if state.get("url") and running("nginx"):
        print(f"\n{state['url']}")


COMMANDS = {"start": cmd_start, "stop": cmd_stop, "status": cmd_status}


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in COMMANDS:
        fail(f"usage: stack.py {{{'|'.join(COMMANDS)}}} ...", 2)
    COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
