"""Every command the README shows works as written (issue 19).

The commands are the lines of the README's ```sh blocks (a `\\` continues a line, `#` starts
a comment), run in order from the repository's root, each as its own process with the
README's exact words, on the test database with the demo city loaded, as after `make run`.
(That `manage.py` finds the private cluster by itself when DATABASE_URL is not set is
tests/test_manage_database.py.) A few commands cannot be run to the end inside a test; each
is run in the bounded way BOUNDED names, for the reason it gives:
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SH_BLOCK = re.compile(r"^```sh\n(.*?)^```", re.S | re.M)
COMMAND_TIMEOUT_S = 600

# command as written -> (what is run instead, why).
BOUNDED: dict[str, tuple[list[str], str]] = {
    "make run": (["make", "-n", "run"],
                 "serves forever (runserver); -n prints the recipe make would run"),
    "make test": (["make", "-n", "test"], "is the run this test is part of"),
    'make test PYTEST_ARGS="-k open311 -x"': (
        ["make", "-n", "test", "PYTEST_ARGS=-k open311 -x"], "is the test run itself"),
    "make stop": (["make", "-n", "stop"],
                  "would stop the database server this test suite is using"),
    "make serve": (["make", "-n", "serve"],
                   "starts the production stack and leaves it running; tests/stack/ starts and "
                   "stops it for real on free ports"),
    "make serve REPLICA=1": (["make", "-n", "serve", "REPLICA=1"],
                             "as make serve, with a replica (tests/stack/ runs this one)"),
    "make serve DEMO=1": (["make", "-n", "serve", "DEMO=1"],
                          "as make serve; the demo city is loaded by this test already"),
    "make bench": (["make", "-n", "bench"],
                   "takes hours on 1M generated reports; benchmarks never run in tests"),
    "make bench BENCH_ARGS=basemap": (["make", "-n", "bench", "BENCH_ARGS=basemap"],
                                      "a benchmark (minutes); benchmarks never run in tests"),
    "make fuzz": (["make", "-n", "fuzz"],
                  "the long fuzzing run (an hour or more); tests/reliability runs its bounded "
                  "part in every make test"),
    "make messages": (["make", "-n", "messages"],
                      "rewrites the tracked translation catalogues in the work tree"),
    ".venv/bin/celery -A geocity worker -B": (
        [".venv/bin/celery", "-A", "geocity", "worker", "--help"],
        "a worker serves forever (and needs a broker); --help loads the app and its options"),
}


def readme_commands() -> list[str]:
    """The README's shell commands, in order, as written (comments and continuations gone,
    runs of spaces outside quotes as one)."""
    commands = []
    for block in SH_BLOCK.findall(README.read_text(encoding="utf-8")):
        for line in block.replace("\\\n", " ").splitlines():
            command = " ".join(_without_comment(line).split())
            if command:
                commands.append(command)
    return commands


def _without_comment(line: str) -> str:
    """`line` up to its first `#` that starts a word outside quotes (shell comments)."""
    quote = None
    for i, ch in enumerate(line):
        if ch in "\"'" and quote in (None, ch):
            quote = None if quote else ch
        elif ch == "#" and quote is None and (i == 0 or line[i - 1].isspace()):
            return line[:i]
    return line


def _database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgis://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def test_the_readme_shows_the_commands_this_test_runs():
    commands = readme_commands()
    # the two commands, every make target and every management command it mentions
    assert commands[:2] == ["make run", "make test"]
    assert set(BOUNDED) <= set(commands), set(BOUNDED) - set(commands)
    mentioned = set(re.findall(r"manage\.py ([a-z_]+)", README.read_text(encoding="utf-8")))
    shown = {c.split()[2] for c in commands if c.startswith(".venv/bin/python manage.py ")}
    assert mentioned <= shown, f"mentioned but never shown as a command: {mentioned - shown}"


@pytest.mark.django_db(transaction=True)
def test_every_readme_command_works_as_written(settings):
    # given the state `make run` leaves: the demo city (its basemap comes from the README's
    # own import_osm command below)
    settings.DEBUG = True
    call_command("load_demo_city", reports=20, no_basemap=True, stdout=open(os.devnull, "w"))
    env = {**os.environ, "DATABASE_URL": _database_url()}
    env.pop("DJANGO_SETTINGS_MODULE", None)  # manage.py's own default (local settings)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # the browser fixture's, for its own thread
    failures = []
    for command in readme_commands():
        argv, _why = BOUNDED.get(command, (shlex.split(command), ""))
        done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=COMMAND_TIMEOUT_S, stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            failures.append(f"$ {command}\n(exit {done.returncode})\n{done.stdout[-1500:]}"
                            f"\n{done.stderr[-1500:]}")
    assert not failures, "\n\n".join(failures)
    # and what they did is there: the README's import_osm loaded the demo's streets
    from basemap.models import Street

    assert Street.objects.filter(name_uk="проспект Дмитра Яворницького").exists()
    # generate_demo_osm wrote the very bytes that are committed
    diff = subprocess.run(["git", "diff", "--quiet", "--", "fixtures/demo_city.osm.pbf"],
                          cwd=ROOT)
    assert diff.returncode == 0, "generate_demo_osm no longer reproduces the committed extract"
