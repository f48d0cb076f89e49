"""tiles.sql: a tile statement survives a connection that broke while idle (a database
restart, an idle timeout) by reconnecting once; inside a transaction it does not."""

import pytest
from django.db import InterfaceError, OperationalError, connection, connections, transaction

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
