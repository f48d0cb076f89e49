"""tiles.sql: a tile statement survives a connection that broke while idle (a database
restart, an idle timeout) by reconnecting once; inside a transaction it does not. It runs on
the driver's cursor unless something watches the queries, with Django's errors either way."""

from contextlib import nullcontext

import pytest
from django.db import (
    InterfaceError,
    OperationalError,
    ProgrammingError,
    connection,
    connections,
    transaction,
)

from tiles import sql as tsql

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def persistent(monkeypatch):
    """The default connection kept between requests (CONN_MAX_AGE), as in production."""
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 600)
    connection.close()
    connection.ensure_connection()
    yield connection
    connection.close()


def kill_backend(pid: int) -> None:
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
            assert cursor.fetchone() == (True,)
    finally:
        other.close()


def backend_pid() -> int:
    return connection.connection.info.backend_pid


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


# --- Which cursor runs a tile statement ---------------------------------------------------

@pytest.fixture
def unwatched(monkeypatch):
    """Nothing watches the queries (production: DEBUG off, no execute wrappers), and Django's
    own cursor may not be used."""
    db = connections["default"]
    assert not db.queries_logged and not db.execute_wrappers

    def no_django_cursor(*args, **kwargs):
        raise AssertionError("a tile statement went through Django's cursor")

    monkeypatch.setattr(db, "cursor", no_django_cursor)
    return db


def passthrough(execute, sql, params, many, context):
    return execute(sql, params, many, context)


@pytest.mark.parametrize("fetch", [tsql.fetch_row, tsql.fetch_all])
def test_unwatched_statements_run_on_the_driver_cursor(unwatched, fetch):
    # when nothing watches, the statement still runs, with its SET LOCAL prefix
    result = fetch("SELECT current_setting('max_parallel_workers_per_gather')", [], serial=True)
    # then on the driver's cursor (Django's raises here) and within the same round trip
    assert result in (("0",), [("0",)])


def test_watched_statements_go_through_django(django_assert_num_queries):
    # given a query count (DEBUG's log works the same way)
    with django_assert_num_queries(1) as captured:
        row = tsql.fetch_row("SELECT %s::int * 2", [21], serial=True)
    # then Django saw the one statement, prefix included
    assert row == (42,)
    assert "SET LOCAL statement_timeout" in captured.captured_queries[0]["sql"]


def test_an_execute_wrapper_sees_tile_statements():
    seen = []

    def spy(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(spy):
        assert tsql.fetch_row("SELECT 7", []) == (7,)
    assert len(seen) == 1 and seen[0].endswith("SELECT 7")


def test_driver_errors_come_out_as_djangos(unwatched):
    # then callers catch django.db errors whichever cursor ran the statement
    with pytest.raises(ProgrammingError, match="no_such_table"):
        tsql.fetch_row("SELECT * FROM no_such_table", [])
    assert unwatched.errors_occurred


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
