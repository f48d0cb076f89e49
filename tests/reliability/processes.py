"""Real processes for the fault tests, each private and on a free port: a PostgreSQL
cluster (initdb/pg_ctl, as geocity/bootstrap.py starts the project's own), a redis-server,
the application under gunicorn and Celery workers. Never the machine's own services."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path("/usr/lib/postgresql/15/bin")
START_TIMEOUT_S = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(check, what: str, timeout: float = START_TIMEOUT_S):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        time.sleep(0.1)


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


class PrivatePostgres:
    """A PostgreSQL 15 cluster in a temporary directory; `restart()` is a real restart."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="geocity-faults-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.url = f"postgis://postgres@127.0.0.1:{self.port}/geocity"
        if os.geteuid() == 0:
            pg = pwd.getpwnam("postgres")
            os.chown(self.dir, pg.pw_uid, pg.pw_gid)
        self._pg(["initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E",
                  "UTF8", "--locale=C.UTF-8"])
        with open(self.data / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(f"listen_addresses = '127.0.0.1'\nport = {self.port}\n"
                       f"unix_socket_directories = '{self.dir}'\nfsync = off\n"
                       "max_connections = 50\n")
        self.start()
        self.psql("CREATE DATABASE geocity", db="postgres")
        self.psql("CREATE EXTENSION postgis")

    def _pg(self, cmd: list[str]) -> subprocess.CompletedProcess:
        result = subprocess.run(_as_postgres([str(PG_BIN / cmd[0]), *cmd[1:]]),
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, (cmd, result.stdout, result.stderr)
        return result

    def start(self) -> None:
        self._pg(["pg_ctl", "-D", str(self.data), "-l", str(self.dir / "log"), "-w", "-t",
                  "60", "start"])

    def stop(self) -> None:
        self._pg(["pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop"])

    def restart(self) -> None:
        self._pg(["pg_ctl", "-D", str(self.data), "-l", str(self.dir / "log"), "-m", "fast",
                  "-w", "-t", "60", "restart"])

    def psql(self, sql: str, db: str = "geocity") -> str:
        result = subprocess.run(
            ["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", db,
             "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
            capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, (sql, result.stderr)
        return result.stdout.strip()

    def close(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


class PrivateRedis:
    """A redis-server on a free port. `down()` saves and shuts it down (its keys survive,
    as after a network partition), `up()` starts it again on the same port and data."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="geocity-faults-redis-"))
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.up()

    def up(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir",
             str(self.dir), "--dbfilename", "dump.rdb", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self.answers, "redis-server start")

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def command(self, *args: str) -> str:
        result = subprocess.run(["redis-cli", "-p", str(self.port), *args],
                                capture_output=True, text=True, timeout=30)
        return result.stdout.strip()

    def down(self) -> None:
        self.command("SHUTDOWN", "SAVE")
        self.process.wait(timeout=30)

    def close(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        shutil.rmtree(self.dir, ignore_errors=True)


def app_env(**overrides: str) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE", "DATABASE_URL",
                        "CACHE_URL", "CELERY_BROKER_URL")}
    env.update(DJANGO_SETTINGS_MODULE="tests.reliability.server_settings",
               PYTHONPATH=str(ROOT), **overrides)
    return env


def manage(env: dict, *args: str, timeout: int = 300) -> str:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, (args, result.stdout[-2000:], result.stderr[-4000:])
    return result.stdout


class Server:
    """The application under gunicorn (2 threads), as production runs it."""

    def __init__(self, env: dict) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile(prefix="geocity-faults-app-", suffix=".log",
                                               delete=False)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "geocity.wsgi:application", "-b",
             f"127.0.0.1:{self.port}", "-w", "1", "--threads", "4", "-k", "gthread",
             "--timeout", "60"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        wait_for(self._answers, "the application start")

    def _answers(self) -> bool:
        assert self.process.poll() is None, self.output()
        try:
            return self.get("/api/v1/categories/")[0] == 200
        except OSError:
            return False

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict | None = None) -> tuple[int, dict, bytes]:
        req = urllib.request.Request(self.base + path, data=body, method=method,
                                     headers={"Host": "localhost", **(headers or {})})
        try:
            with urllib.request.urlopen(req, timeout=60) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def get(self, path: str, headers: dict | None = None):
        return self.request("GET", path, headers=headers)

    def output(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")[-6000:]

    def close(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        Path(self.log.name).unlink(missing_ok=True)
