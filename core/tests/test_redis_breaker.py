"""The circuit breaker on the cache's Redis connections (core/redis_breaker.py).

A real loopback server that accepts connections and never answers stands in for a hung Redis;
the recovery test uses the real Redis.
"""

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django_redis.cache import RedisCache

from core import redis_breaker

BASE_DIR = Path(settings.BASE_DIR)


@pytest.fixture(autouse=True)
def closed_circuits():
    redis_breaker._open_until.clear()
    yield
    redis_breaker._open_until.clear()


@pytest.fixture
def hung_redis_url():
    """A Redis URL whose server accepts connections and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []

    def accept_and_say_nothing():
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept_and_say_nothing, daemon=True).start()
    yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    listener.close()
    for conn in held:
        conn.close()


def _cache(url: str, timeout: float) -> RedisCache:
    return RedisCache(
        url,
        {
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": timeout,
                "SOCKET_TIMEOUT": timeout,
                "IGNORE_EXCEPTIONS": True,
                "CONNECTION_POOL_KWARGS": {"connection_class": redis_breaker.connection_class_for(url)},
            }
        },
    )


def _timed(operation) -> tuple[object, float]:
    started = time.monotonic()
    result = operation()
    return result, time.monotonic() - started


def test_a_hung_redis_costs_one_timeout_then_every_operation_fails_at_once(hung_redis_url, monkeypatch):
    monkeypatch.setattr(redis_breaker, "OPEN_SECONDS", 1.0)
    hung = _cache(hung_redis_url, timeout=0.3)

    first, waited = _timed(lambda: hung.get("catalog:version"))
    assert (first, waited >= 0.3) == (None, True)

    # Open: ten more operations of every kind cost nothing like ten timeouts.
    rest, waited = _timed(
        lambda: (
            [hung.set("k", 1), hung.add("k", 1), hung.get_many(["a", "b"]), hung.delete("k")]
            + [hung.get(f"k{n}") for n in range(6)]
        )
    )
    assert not any(rest)  # misses and failed writes, no exception
    assert waited < 0.25

    # After OPEN_SECONDS one operation tries again (and waits its timeout, the server still hangs).
    time.sleep(1.05)
    again, waited = _timed(lambda: hung.get("k"))
    assert (again, waited >= 0.3) == (None, True)
    _, waited = _timed(lambda: hung.get("k"))
    assert waited < 0.1  # open again


def test_only_timeouts_open_the_circuit(monkeypatch):
    # A refused connection fails at once by itself; it must not stop the next operation trying.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"redis://127.0.0.1:{sock.getsockname()[1]}/0"
    refused = _cache(closed, timeout=0.3)

    assert refused.get("k") is None
    assert redis_breaker._open_until == {}


@pytest.mark.redis
def test_the_circuit_closes_when_redis_answers_again(monkeypatch):
    monkeypatch.setattr(redis_breaker, "OPEN_SECONDS", 0.3)
    pool = cache.client.get_client().connection_pool
    assert pool.connection_class is redis_breaker.BreakerConnection  # the settings wire it
    cache.set("breaker:probe", "kept", 60)
    circuit = (pool.connection_kwargs["host"], pool.connection_kwargs["port"], None)
    redis_breaker._open_until[circuit] = time.monotonic() + 0.3  # as if Redis had just timed out

    assert cache.get("breaker:probe") is None  # not tried: a miss
    time.sleep(0.35)
    assert cache.get("breaker:probe") == "kept"  # the one that tries again gets an answer
    assert redis_breaker._open_until == {}
    assert cache.get("breaker:probe") == "kept"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://cache.internal:6379/0", redis_breaker.BreakerConnection),
        ("rediss://user:pw@cache.example.com:6380/0", redis_breaker.BreakerSSLConnection),
        ("unix:///run/redis.sock?db=0", redis_breaker.BreakerUnixDomainSocketConnection),
    ],
)
def test_each_scheme_keeps_its_own_connection_kind(url, expected):
    cache_for_url = _cache(url, timeout=1)
    pool = cache_for_url.client.get_client().connection_pool
    assert pool.connection_class is expected
    assert issubclass(expected, redis_breaker._CircuitBreaker)


REQUESTS_UNDER_A_HUNG_REDIS = """
import json, sys, time
import django
django.setup()
from django.test import Client
client = Client()
answers = []
started = time.monotonic()
for path in sys.argv[1:]:
    begun = time.monotonic()
    response = client.get(path, HTTP_HOST="localhost")
    answers.append([path, response.status_code, round(time.monotonic() - begun, 2)])
print(json.dumps({"answers": answers, "seconds": time.monotonic() - started}))
"""


@pytest.mark.postgres
@pytest.mark.django_db
def test_with_redis_hung_the_catalogue_answers_after_one_timeout_not_one_per_operation(hung_redis_url):
    # Each request waited out the 2 s socket timeout (8.1 s for these four); with the circuit open
    # after the first timeout, 2.2 s in all.
    parts = urlsplit(os.environ["DATABASE_URL"])
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "SENTRY_DSN"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="backend.settings",
        DATABASE_URL=urlunsplit(
            (parts.scheme, parts.netloc, f"/{connection.settings_dict['NAME']}", parts.query, "")
        ),
        REDIS_URL=hung_redis_url,
        LOG_LEVEL="CRITICAL",
    )
    paths = ["/api/products/", "/api/web/products/", "/api/products/?search=x", "/api/categories/"]
    result = subprocess.run(
        [sys.executable, "-c", REQUESTS_UNDER_A_HUNG_REDIS, *paths],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])

    assert [status for _, status, _ in outcome["answers"]] == [200, 200, 200, 200], outcome
    # One 2 s timeout in all (the first operation), then the circuit is open.
    assert outcome["seconds"] < 4.5, outcome
