"""`/api/health/`: 200 when the database and the cache answer, 503 naming the failing part.

The outages are real: a fresh process whose DATABASE_URL or REDIS_URL points at a loopback port
nothing listens on, serving the request through the whole Django stack.
"""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.throttling import SimpleRateThrottle

BASE_DIR = Path(settings.BASE_DIR)

SERVE_ONE_REQUEST = """
import json, sys, time
import django
django.setup()
from django.test import Client
started = time.monotonic()
response = Client().get(sys.argv[1], HTTP_HOST="localhost")
print(json.dumps({"status": response.status_code, "body": response.json(),
                  "retry_after": response.get("Retry-After"), "seconds": time.monotonic() - started}))
"""


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def working_database_url(tmp_path: Path) -> str:
    """A database the subprocess can reach: this run's PostgreSQL test database, or an SQLite file."""
    if connection.vendor == "postgresql":
        parts = urlsplit(os.environ["DATABASE_URL"])
        return urlunsplit(
            (parts.scheme, parts.netloc, f"/{connection.settings_dict['NAME']}", parts.query, "")
        )
    return f"sqlite:///{tmp_path / 'health.sqlite3'}"


def in_fresh_process(script: str, *args: str, database_url: str, redis_url: str | None) -> dict:
    """Run `script` (it prints one JSON line last) in a new Python process with these services,
    the app's other variables unset; its JSON."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "SENTRY_DSN"}
    }
    env.update(DJANGO_SETTINGS_MODULE="backend.settings", DATABASE_URL=database_url, LOG_LEVEL="CRITICAL")
    if redis_url:
        env["REDIS_URL"] = redis_url
    result = subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def _health_in_fresh_process(*, database_url: str, redis_url: str | None, path: str = "/api/health/") -> dict:
    return in_fresh_process(SERVE_ONE_REQUEST, path, database_url=database_url, redis_url=redis_url)


# --- in process ------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_health_is_ok_when_database_and_cache_answer(api_client):
    response = api_client.get("/api/health/")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "cache": "ok",
        "version": settings.APP_VERSION,
    }


@pytest.mark.django_db
def test_health_ignores_credentials_and_is_never_throttled(api_client, monkeypatch):
    """Platform health checks poll every few seconds from a few addresses: no auth, no throttle."""
    monkeypatch.setattr(
        SimpleRateThrottle, "THROTTLE_RATES", {"anon": "2/min", "user": "2/min", "auth": "2/min"}
    )
    api_client.credentials(HTTP_AUTHORIZATION="Bearer expired-or-garbage")
    statuses = {api_client.get("/api/health/").status_code for _ in range(30)}
    assert statuses == {200}


# --- real outages, in a fresh process -----------------------------------------------------------------
@pytest.mark.django_db
def test_database_down_answers_503_quickly(tmp_path):
    outcome = _health_in_fresh_process(
        database_url=f"postgres://postgres@127.0.0.1:{_closed_port()}/novacart", redis_url=None
    )

    assert outcome["status"] == 503
    assert outcome["body"]["status"] == "error"
    assert outcome["body"]["database"] == "error"
    assert outcome["body"]["cache"] == "ok"
    assert outcome["seconds"] < 5  # inside a platform health check's timeout


def test_other_endpoints_answer_503_not_500_while_the_database_is_down():
    outcome = _health_in_fresh_process(
        database_url=f"postgres://postgres@127.0.0.1:{_closed_port()}/novacart",
        redis_url=None,
        path="/api/products/",
    )

    assert outcome["status"] == 503
    assert outcome["body"]["code"] == "service_unavailable"
    assert outcome["body"]["detail"]
    assert outcome["retry_after"] == "5"


@pytest.mark.django_db
def test_redis_down_answers_503(tmp_path):
    outcome = _health_in_fresh_process(
        database_url=working_database_url(tmp_path), redis_url=f"redis://127.0.0.1:{_closed_port()}/0"
    )

    assert outcome["status"] == 503
    assert outcome["body"] == {
        "status": "error",
        "database": "ok",
        "cache": "error",
        "version": settings.APP_VERSION,
    }


@pytest.mark.django_db
def test_a_redis_that_hangs_answers_503_within_the_platform_health_timeout(tmp_path, silent_redis_url):
    # A Redis that accepts connections and never answers (stopped, a half-dead path): each cache
    # operation waits its 2 s socket timeout, and the check made three (6 s, over Render's 5 s).
    outcome = _health_in_fresh_process(
        database_url=working_database_url(tmp_path), redis_url=silent_redis_url
    )

    assert outcome["status"] == 503
    assert (outcome["body"]["database"], outcome["body"]["cache"]) == ("ok", "error")
    assert outcome["seconds"] < 4.5


@pytest.mark.django_db
def test_both_down_names_both(tmp_path):
    outcome = _health_in_fresh_process(
        database_url=f"postgres://postgres@127.0.0.1:{_closed_port()}/novacart",
        redis_url=f"redis://127.0.0.1:{_closed_port()}/0",
    )

    assert outcome["status"] == 503
    assert (outcome["body"]["database"], outcome["body"]["cache"]) == ("error", "error")


@pytest.mark.redis
@pytest.mark.django_db
def test_health_checks_the_real_redis(tmp_path):
    outcome = _health_in_fresh_process(
        database_url=working_database_url(tmp_path), redis_url=settings.REDIS_URL
    )

    assert outcome["status"] == 200
    assert outcome["body"]["cache"] == "ok"
    assert outcome["body"]["database"] == "ok"
