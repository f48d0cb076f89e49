#!/usr/bin/env python3
"""Provisioning for `make run` / `make test`: system packages, the private PostGIS cluster.

Runs with the system python3 and the standard library only (it is what exists before the
virtualenv). Every failure prints what went wrong and what to do, and exits non-zero; it
never deletes a data directory to "fix" something.

    python3 geocity/bootstrap.py system [--browser] [--stack]   check/install Debian packages
    python3 geocity/bootstrap.py db                   ensure a PostGIS database; print its URL
                                                      (DATABASE_URL's, else the private one)
    python3 geocity/bootstrap.py stop                 stop the private cluster
    python3 geocity/bootstrap.py free-port HOST PORT  print PORT, or the next free one
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
# GEOCITY_VAR moves every private service (the cluster, the production stack) elsewhere: the
# stack's own test runs a whole stack in a temporary directory this way.
VAR = Path(os.environ.get("GEOCITY_VAR") or ROOT / "var").resolve()
PGDATA = VAR / "postgres"
PGRUN = VAR / "run"  # unix socket, log and the chosen port live here
PORT_FILE = PGRUN / "port"
PG_MAJOR = "15"
PG_BIN = Path(f"/usr/lib/postgresql/{PG_MAJOR}/bin")
DB_NAME = "geocity"
FIRST_PORT = 5433

# What must be present -> the Debian packages that provide it.
SYSTEM_REQUIREMENTS: list[tuple[str, str, list[str]]] = [
    ("PostgreSQL 15 server", str(PG_BIN / "initdb"), ["postgresql-15"]),
    (
        "PostGIS 3 for PostgreSQL 15",
        f"/usr/share/postgresql/{PG_MAJOR}/extension/postgis.control",
        ["postgresql-15-postgis-3", "postgresql-15-postgis-3-scripts"],
    ),
    ("GDAL library", "lib:libgdal.so", ["libgdal32"]),
    ("GDAL tools (ogr2ogr)", "cmd:ogr2ogr", ["gdal-bin"]),
    ("GEOS library", "lib:libgeos_c.so", ["libgeos-c1v5"]),
    ("PROJ library", "lib:libproj.so", ["libproj25"]),
    ("Node.js", "cmd:node", ["nodejs"]),
    ("npm", "cmd:npm", ["npm"]),
    ("Python venv", "pymod:ensurepip", ["python3-venv"]),
]
BROWSER_REQUIREMENTS = [
    ("Chromium (browser tests)", "/usr/bin/chromium", ["chromium"]),
    # Category icons are emoji: without a colour emoji font screenshots show empty boxes.
    ("Noto Color Emoji font", "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf",
     ["fonts-noto-color-emoji"]),
    # The Celery test runs a real worker on Redis (a private server when none answers).
    ("Redis (Celery worker test)", "/usr/bin/redis-server", ["redis-server"]),
    # The README test regenerates the demo city's OSM extract (XML to PBF).
    ("osmium-tool (demo OSM extract)", "cmd:osmium", ["osmium-tool"]),
]
# The production stack (`make serve`, tests/stack): a web server in front of gunicorn, Redis
# for Celery and the cache, openssl for a self-signed certificate when none is given.
STACK_REQUIREMENTS = [
    ("nginx", "/usr/sbin/nginx", ["nginx"]),
    ("Redis", "/usr/bin/redis-server", ["redis-server"]),
    ("openssl", "cmd:openssl", ["openssl"]),
]


def fail(message: str, code: int = 1) -> None:
    print(f"\n*** {message}\n", file=sys.stderr)
    sys.exit(code)


def info(message: str) -> None:
    print(f"==> {message}", file=sys.stderr)


def _present(probe: str) -> bool:
    kind, _, what = probe.partition(":")
    if kind == "cmd":
        return shutil.which(what) is not None
    if kind == "lib":
        out = subprocess.run(["/sbin/ldconfig", "-p"], capture_output=True, text=True).stdout
        return what in out
    if kind == "pymod":
        try:
            __import__(what)
        except ImportError:
            return False
        return True
    return Path(probe).exists()


def cmd_system(args: list[str]) -> None:
    wanted = list(SYSTEM_REQUIREMENTS)
    if "--browser" in args:
        wanted += BROWSER_REQUIREMENTS
    if "--stack" in args:
        wanted += STACK_REQUIREMENTS
    missing = [(label, pkgs) for label, probe, pkgs in wanted if not _present(probe)]
    if not missing:
        return
    packages = sorted({p for _, pkgs in missing for p in pkgs})
    labels = ", ".join(label for label, _ in missing)
    line = "apt-get install -y " + " ".join(packages)
    if os.geteuid() != 0:
        fail(
            f"Missing system packages: {labels}.\n"
            "    Install them (as root), then run make again:\n"
            f"    sudo apt-get update && sudo {line}"
        )
    info(f"Installing system packages: {' '.join(packages)}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", *packages]):
        result = subprocess.run(cmd, env=env)
        if result.returncode != 0:
            fail(f"`{' '.join(cmd)}` failed (exit {result.returncode}). Fix apt, then rerun.")
    still = [label for label, probe, _ in wanted if not _present(probe)]
    if still:
        fail(f"Still missing after apt-get install: {', '.join(still)}")


# --- private cluster ----------------------------------------------------------------------

def _as_owner(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run it as the `postgres` user then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(_as_owner(cmd), capture_output=True, text=True, **kw)


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _next_free_port(host: str, start: int) -> int:
    for port in range(start, start + 200):
        if _port_free(host, port):
            return port
    fail(f"No free TCP port on {host} between {start} and {start + 199}.")
    raise AssertionError  # unreachable


def _cluster_running() -> bool:
    return _run([str(PG_BIN / "pg_ctl"), "-D", str(PGDATA), "status"]).returncode == 0


def _chown_for_postgres(*paths: Path) -> None:
    if os.geteuid() != 0:
        return
    pg = pwd.getpwnam("postgres")
    for path in paths:
        for dirpath, _dirs, files in os.walk(path):
            os.chown(dirpath, pg.pw_uid, pg.pw_gid)
            for name in files:
                os.chown(os.path.join(dirpath, name), pg.pw_uid, pg.pw_gid)


def _init_cluster() -> None:
    info(f"Initialising a private PostgreSQL {PG_MAJOR} cluster in {PGDATA}")
    PGDATA.mkdir(parents=True, exist_ok=True)
    _chown_for_postgres(PGDATA)
    result = _run(
        [
            str(PG_BIN / "initdb"), "-D", str(PGDATA), "-U", "postgres", "--auth=trust",
            "-E", "UTF8", "--locale=C.UTF-8",
        ]
    )
    if result.returncode != 0:
        fail(f"initdb failed:\n{result.stdout}\n{result.stderr}")
    with open(PGDATA / "postgresql.conf", "a", encoding="utf-8") as conf:
        conf.write(
            "\n# --- Open City private cluster (geocity/bootstrap.py) ---\n"
            "listen_addresses = '127.0.0.1'\n"
            f"unix_socket_directories = '{PGRUN}'\n"
            "shared_buffers = 256MB\n"
            "work_mem = 32MB\n"
            "maintenance_work_mem = 256MB\n"
            "effective_cache_size = 2GB\n"
            "random_page_cost = 1.1\n"
            "jit = off\n"
            "max_connections = 200\n"
            "max_wal_size = 4GB\n"
        )


def _check_cluster_dir() -> None:
    """Refuse to touch a directory that is not a PostgreSQL 15 data directory."""
    if not PGDATA.exists() or not any(PGDATA.iterdir()):
        return
    version_file = PGDATA / "PG_VERSION"
    if not version_file.exists():
        fail(
            f"{PGDATA} exists but is not a PostgreSQL data directory (no PG_VERSION).\n"
            "    It is left untouched. Move it aside (mv var/postgres var/postgres.broken) to let\n"
            "    make create a fresh one, or point DATABASE_URL at another server."
        )
    version = version_file.read_text().strip()
    if version != PG_MAJOR:
        fail(f"{PGDATA} holds a PostgreSQL {version} cluster; this setup runs {PG_MAJOR}.")
    if not (PGDATA / "postgresql.conf").exists() or not (PGDATA / "global").is_dir():
        fail(
            f"{PGDATA} looks damaged (postgresql.conf or global/ is missing). It is left\n"
            "    untouched; move it aside to start afresh, or restore it from a backup."
        )


def _start_cluster() -> int:
    PGRUN.mkdir(parents=True, exist_ok=True)
    _chown_for_postgres(PGRUN)
    if _cluster_running():
        if PORT_FILE.exists():
            return int(PORT_FILE.read_text().strip())
        fail(f"The cluster in {PGDATA} runs but {PORT_FILE} is missing; run `make stop` first.")
    saved = int(PORT_FILE.read_text().strip()) if PORT_FILE.exists() else FIRST_PORT
    port = saved if _port_free("127.0.0.1", saved) else _next_free_port("127.0.0.1", FIRST_PORT)
    if port != saved and PORT_FILE.exists():
        info(f"Port {saved} is in use; the private cluster moves to port {port}")
    log = VAR / "log" / "postgres.log"  # beside the stack's logs (geocity/stack.py)
    log.parent.mkdir(parents=True, exist_ok=True)
    log.touch()
    if os.geteuid() == 0:
        pg = pwd.getpwnam("postgres")
        os.chown(log, pg.pw_uid, pg.pw_gid)
    info(f"Starting PostgreSQL on 127.0.0.1:{port} (log: {log})")
    result = _run(
        [
            str(PG_BIN / "pg_ctl"), "-D", str(PGDATA), "-l", str(log), "-w", "-t", "60",
            "-o", f"-p {port} -k {PGRUN}", "start",
        ]
    )
    if result.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-15:] if log.exists() else []
        fail(
            "PostgreSQL did not start:\n    " + "\n    ".join(tail or [result.stderr.strip()])
            + f"\n    The data directory {PGDATA} is left untouched."
        )
    PORT_FILE.write_text(f"{port}\n")
    return port


def _psql(url: str, sql: str, db: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
        capture_output=True, text=True, env=dict(os.environ, PGCONNECT_TIMEOUT="5"),
    )


def _libpq_url(url: str) -> str:
    parts = urlsplit(url)
    scheme = "postgresql" if parts.scheme in ("postgis", "postgres", "postgresql") else parts.scheme
    return urlunsplit((scheme, *parts[1:]))


def _masked(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit((parts.scheme, netloc, *parts[2:]))
    return url


def _ensure_postgis(url: str, *, private: bool) -> None:
    result = _psql(_libpq_url(url), "SELECT 1")
    if result.returncode != 0:
        fail(f"Cannot reach the database {_masked(url)}:\n    {result.stderr.strip()}")
    available = _psql(
        _libpq_url(url), "SELECT count(*) FROM pg_available_extensions WHERE name = 'postgis'"
    )
    if available.stdout.strip() != "1":
        fail(
            f"The server behind {_masked(url)} has no PostGIS.\n"
            "    Install it on the database server (Debian: apt-get install "
            "postgresql-15-postgis-3),\n    then, as a superuser in the database: "
            "CREATE EXTENSION postgis;"
        )
    created = _psql(_libpq_url(url), "CREATE EXTENSION IF NOT EXISTS postgis")
    if created.returncode != 0:
        hint = "" if private else " Ask a superuser to run: CREATE EXTENSION postgis;"
        fail(f"Could not enable PostGIS in {_masked(url)}: {created.stderr.strip()}.{hint}")


def cmd_db(_args: list[str]) -> None:
    given = os.environ.get("DATABASE_URL", "").strip()
    if given:
        _ensure_postgis(given, private=False)
        print(given)
        return
    print(private_database_url())


def private_database_url() -> str:
    """The URL of the private cluster's database under var/, after initialising and starting
    the cluster and creating the database as needed. Also what `manage.py` uses with local
    settings and no DATABASE_URL (geocity/settings/local.py), so every command finds the
    database `make run` uses."""
    if not (PG_BIN / "initdb").exists():
        fail("PostgreSQL 15 is not installed; run `make run` as root or install postgresql-15.")
    VAR.mkdir(exist_ok=True)
    _check_cluster_dir()
    if not (PGDATA / "PG_VERSION").exists():
        _init_cluster()
    port = _start_cluster()
    admin_url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    for _ in range(20):
        if _psql(admin_url, "SELECT 1").returncode == 0:
            break
        time.sleep(0.5)
    exists = _psql(admin_url, f"SELECT 1 FROM pg_database WHERE datname = '{DB_NAME}'")  # noqa: S608 - a constant
    if exists.stdout.strip() != "1":
        info(f"Creating database {DB_NAME}")
        created = _psql(admin_url, f"CREATE DATABASE {DB_NAME}")
        if created.returncode != 0:
            fail(f"CREATE DATABASE failed: {created.stderr.strip()}")
    url = f"postgis://postgres@127.0.0.1:{port}/{DB_NAME}"
    _ensure_postgis(url, private=True)
    return url


def cmd_stop(_args: list[str]) -> None:
    if not (PGDATA / "PG_VERSION").exists():
        info("No private cluster under var/postgres.")
        return
    if not _cluster_running():
        info("The private cluster is not running.")
        return
    result = _run([str(PG_BIN / "pg_ctl"), "-D", str(PGDATA), "-m", "fast", "-w", "stop"])
    if result.returncode != 0:
        fail(f"pg_ctl stop failed: {result.stderr.strip()}")
    info("Stopped the private cluster.")


def cmd_free_port(args: list[str]) -> None:
    if len(args) != 2 or not args[1].isdigit():
        fail("usage: bootstrap.py free-port HOST PORT", 2)
    host, port = args[0], int(args[1])
    if _port_free(host, port):
        print(port)
        return
    chosen = _next_free_port(host, port + 1)
    info(f"Port {port} on {host} is in use; serving on {chosen} instead")
    print(chosen)


COMMANDS = {"system": cmd_system, "db": cmd_db, "stop": cmd_stop, "free-port": cmd_free_port}


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in COMMANDS:
        fail(f"usage: bootstrap.py {{{'|'.join(COMMANDS)}}} ...", 2)
    COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
