"""Database helpers and fixtures for tests of connection handling (geocity.db, tiles.sql).
Loaded as a pytest plugin by tests/conftest.py."""

import pytest
from django.db import connection, connections


def backend_pid() -> int:
    return connection.connection.info.backend_pid


def kill_backend(pid: int) -> None:
    """End the server process of a connection, as a database restart or an idle timeout
    would, from a second connection."""
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
            assert cursor.fetchone() == (True,)
    finally:
        other.close()


def passthrough(execute, sql, params, many, context):
    """An execute wrapper that only watches."""
    return execute(sql, params, many, context)


@pytest.fixture
def persistent(monkeypatch):
    """The default connection kept between requests (CONN_MAX_AGE), as in production."""
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 600)
    connection.close()
    connection.ensure_connection()
    yield connection
    connection.close()


@pytest.fixture
def unwatched(monkeypatch):
    """Nothing watches the queries (production: DEBUG off, no execute wrappers), and Django's
    own cursor may not be used."""
    db = connections["default"]
    assert not db.queries_logged and not db.execute_wrappers

    def no_django_cursor(*args, **kwargs):
        raise AssertionError("the statement went through Django's cursor")

    monkeypatch.setattr(db, "cursor", no_django_cursor)
    return db
