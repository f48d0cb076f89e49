"""tiles.sql: a tile statement survives a connection that broke while idle (a database
restart, an idle timeout) by reconnecting once; inside a transaction it does not. It runs on
the driver's cursor unless something watches the queries (geocity.db, tests/test_db.py), and
a statement timeout is a TileTimeout on either cursor."""

from contextlib import nullcontext

import pytest
from django.db import InterfaceError, OperationalError, connection, transaction

from tiles import sql as tsql

from ..db import backend_pid, kill_backend, passthrough

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_statement_reconnects_once_when_the_connection_broke(persistent):
    # given a connection whose server process went away while it was idle
    before = backend_pid()
    kill_backend(before)
    # when a tile statement runs on it
    row = tsql.fetch_row("SELECT %s::int + 1", [41], serial=True)
    # then it ran on a new connection
    assert row == (42,)
    assert backend_pid() != before


def test_every_statement_kind_reconnects(persistent):
    kill_backend(backend_pid())
    assert tsql.fetch_all("SELECT generate_series(1, 3)", []) == [(1,), (2,), (3,)]


def test_inside_a_transaction_the_error_stands(persistent):
    # given a transaction whose connection breaks
    with pytest.raises((OperationalError, InterfaceError)):
        with transaction.atomic():
            kill_backend(backend_pid())
            # then the statement fails instead of silently leaving the transaction
            tsql.fetch_row("SELECT 1", [])
    connection.close()


def test_a_database_error_is_not_retried(persistent, django_assert_num_queries):
    # a broken statement on a working connection fails at once (one attempt)
    with django_assert_num_queries(1), pytest.raises(Exception, match="no_such_table"):
        tsql.fetch_row("SELECT * FROM no_such_table", [])


# --- Which cursor runs a tile statement (geocity.db.on_cursor; tests/test_db.py) -------

@pytest.mark.parametrize("fetch", [tsql.fetch_row, tsql.fetch_all])
def test_unwatched_statements_run_on_the_driver_cursor(unwatched, fetch):
    # when nothing watches, the statement still runs, with its SET LOCAL prefix
    result = fetch("SELECT current_setting('max_parallel_workers_per_gather')", [], serial=True)
    # then on the driver's cursor (Django's raises here) and within the same round trip
    assert result in (("0",), [("0",)])


@pytest.mark.parametrize("watched", [False, True], ids=["driver cursor", "Django's cursor"])
def test_the_statement_timeout_is_a_tile_timeout(monkeypatch, watched):
    monkeypatch.setattr(tsql, "STATEMENT_TIMEOUT_MS", 50)
    with connection.execute_wrapper(passthrough) if watched else nullcontext():
        with pytest.raises(tsql.TileTimeout):
            tsql.fetch_row("SELECT pg_sleep(1)", [])
    # and the connection is still good for the next tile
    assert tsql.fetch_row("SELECT 1", []) == (1,)


def test_the_reconnect_works_on_djangos_cursor_too(persistent):
    before = backend_pid()
    kill_backend(before)
    with connection.execute_wrapper(passthrough):
        assert tsql.fetch_row("SELECT %s::int + 1", [1]) == (2,)
    assert backend_pid() != before
