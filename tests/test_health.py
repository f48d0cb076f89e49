"""/healthz in-process (test settings: no broker, local-memory cache). The real stack's
answer, with Redis, a broker and a replica, is checked in tests/stack/."""

import socket


def test_health_reports_each_dependency(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    body = response.json()
    assert body["status"] == "ok"
    checks = body["checks"]
    assert checks["database"]["status"] == "ok"
    assert checks["cache"] == {"status": "ok", "backend": "LocMemCache",
                               "ms": checks["cache"]["ms"]}
    assert checks["broker"]["status"] == "off"  # tasks run in-process
    assert "replicas" not in checks


def test_health_is_read_only(client, db):
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405


def test_an_unreachable_broker_fails_the_check(client, db, settings):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{port}/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["checks"]["broker"]["status"] == "fail"
    assert "Connection refused" in body["checks"]["broker"]["error"] or \
        "refused" in body["checks"]["broker"]["error"].lower()
    assert body["checks"]["database"]["status"] == "ok"
