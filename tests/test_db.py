"""geocity.db.on_cursor: the driver's cursor when nothing watches the queries, Django's when
something does; the same connection, transaction, health check and exceptions either way."""

import pytest
from django.db import ProgrammingError, connection, transaction

from geocity.db import on_cursor

from .db import backend_pid, kill_backend

pytestmark = pytest.mark.django_db(transaction=True)


def fetch_one(sql, params=()):
    def run(cursor):
        cursor.execute(sql, params)
        return cursor.fetchone()

    return run


def test_unwatched_statements_run_on_the_driver_cursor(unwatched):
    assert on_cursor(fetch_one("SELECT %s::int * 2", [21])) == (42,)


@pytest.mark.parametrize("watch", ["query count", "execute wrapper"])
def test_watched_statements_go_through_django(django_assert_num_queries, watch):
    seen = []

    def spy(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    if watch == "query count":
        with django_assert_num_queries(1) as captured:
            assert on_cursor(fetch_one("SELECT 7")) == (7,)
        seen = [q["sql"] for q in captured.captured_queries]
    else:
        with connection.execute_wrapper(spy):
            assert on_cursor(fetch_one("SELECT 7")) == (7,)
    assert seen == ["SELECT 7"]


def test_driver_errors_come_out_as_djangos(unwatched):
    with pytest.raises(ProgrammingError, match="no_such_table"):
        on_cursor(fetch_one("SELECT * FROM no_such_table"))
    assert unwatched.errors_occurred


def test_it_runs_in_the_callers_transaction(unwatched):
    txid = fetch_one("SELECT txid_current()")
    with transaction.atomic():
        inside = on_cursor(txid), on_cursor(txid)
    outside = on_cursor(txid), on_cursor(txid)
    assert inside[0] == inside[1]  # one transaction
    assert outside[0] != outside[1]  # autocommit: one each


def test_djangos_health_check_still_replaces_a_broken_connection(persistent):
    # given a persistent connection whose server process went away between requests
    before = backend_pid()
    kill_backend(before)
    connection.health_check_done = False  # a new request (request_started) resets it
    # when the next statement runs, the health check finds the dead connection first
    assert on_cursor(fetch_one("SELECT 1")) == (1,)
    assert backend_pid() != before
