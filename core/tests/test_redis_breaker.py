"""The circuit breaker on the cache's Redis connections (core/redis_breaker.py).

A real loopback server that accepts connections and never answers stands in for a hung Redis;
the recovery test uses the real Redis.
"""

import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django_redis.cache import RedisCache
from redis import connection as redis_connection
from redis.commands.core import Script
from rest_framework.test import APIRequestFactory

from conftest import loopback_redis_url
from core import redis_breaker
from core.tests.test_health import in_fresh_process, working_database_url
from users import throttling

BASE_DIR = Path(settings.BASE_DIR)


@pytest.fixture(autouse=True)
def closed_circuits():
    redis_breaker._open_until.clear()
    yield
    redis_breaker._open_until.clear()


def _options(url: str, timeout: float) -> dict:
    """The production cache's OPTIONS (backend/settings.py) with a shorter timeout."""
    return {
        "CLIENT_CLASS": "django_redis.client.DefaultClient",
        "SOCKET_CONNECT_TIMEOUT": timeout,
        "SOCKET_TIMEOUT": timeout,
        "IGNORE_EXCEPTIONS": True,
        "CONNECTION_POOL_KWARGS": {"connection_class": redis_breaker.connection_class_for(url)},
    }


def _cache(url: str, timeout: float) -> RedisCache:
    return RedisCache(url, {"OPTIONS": _options(url, timeout)})


def _timed(operation) -> tuple[object, float]:
    started = time.monotonic()
    result = operation()
    return result, time.monotonic() - started


def test_a_hung_redis_costs_one_timeout_then_every_operation_fails_at_once(silent_redis_url, monkeypatch):
    monkeypatch.setattr(redis_breaker, "OPEN_SECONDS", 1.0)
    hung = _cache(silent_redis_url, timeout=0.3)

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
    assert waited < 0.3  # all ten together in less than one timeout: none of them waited

    # After OPEN_SECONDS one operation tries again (and waits its timeout, the server still hangs).
    time.sleep(1.05)
    again, waited = _timed(lambda: hung.get("k"))
    assert (again, waited >= 0.3) == (None, True)
    _, waited = _timed(lambda: hung.get("k"))
    assert waited < 0.3  # open again: less than its timeout


def test_only_timeouts_open_the_circuit(monkeypatch):
    # A refused connection fails at once by itself; it must not stop the next operation trying.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"redis://127.0.0.1:{sock.getsockname()[1]}/0"
    refused = _cache(closed, timeout=0.3)

    assert refused.get("k") is None
    assert redis_breaker._open_until == {}


def _answer_in_http(conn: socket.socket) -> None:
    with conn:
        try:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        except OSError:
            pass


@pytest.fixture
def not_redis_url():
    """A redis:// URL whose server answers every connection at once, but in HTTP (a plain URL
    pointed at an HTTP or TLS-only endpoint): redis-py reads a reply it cannot parse."""
    with loopback_redis_url(_answer_in_http) as url:
        yield url


def test_a_server_that_does_not_speak_redis_is_a_connection_error(not_redis_url):
    # redis-py's InvalidResponse is not among the errors django-redis ignores: every cached
    # request was a 500. As NotRedis (a ConnectionError) it is a miss, like a refused connection.
    wrong = _cache(not_redis_url, timeout=0.3)
    assert [wrong.get("k"), wrong.get_many(["a", "b"]), wrong.set("k", 1)] == [None, {}, None]
    with pytest.raises(redis_breaker.NotRedis):
        wrong.client.get_client().get("k")
    assert redis_breaker._open_until == {}  # it answers at once: nothing to wait out


@pytest.mark.django_db
def test_with_a_server_that_does_not_speak_redis_the_api_degrades_instead_of_500(
    not_redis_url, settings, api_client, auth_client
):
    from products.tests.factories import ProductFactory  # noqa: PLC0415

    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": not_redis_url,
            "OPTIONS": _options(not_redis_url, timeout=0.3),
        }
    }
    settings.CATALOG_CACHE_SECONDS = 300
    product = ProductFactory()
    anonymous, customer = api_client, auth_client
    # The catalogue's cache lookups, and the access-token denylist every signed-in request reads.
    assert anonymous.get("/api/products/").status_code == 200
    assert anonymous.get(f"/api/products/{product.pk}/").status_code == 200
    assert anonymous.get("/api/web/products/").status_code == 200
    assert customer.get("/api/cart/").status_code == 200
    assert anonymous.get("/api/health/").status_code == 503


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
def test_with_redis_hung_the_catalogue_answers_after_one_timeout_not_one_per_operation(
    tmp_path, silent_redis_url
):
    # Each request waited out the 2 s socket timeout (8.1 s for these four); with the circuit open
    # after the first timeout, 2.2 s in all.
    paths = ["/api/products/", "/api/web/products/", "/api/products/?search=x", "/api/categories/"]
    outcome = in_fresh_process(
        REQUESTS_UNDER_A_HUNG_REDIS,
        *paths,
        database_url=working_database_url(tmp_path),
        redis_url=silent_redis_url,
    )

    assert [status for _, status, _ in outcome["answers"]] == [200, 200, 200, 200], outcome
    # One 2 s timeout in all (the first operation), then the circuit is open.
    assert outcome["seconds"] < 4.5, outcome


@pytest.fixture
def blackholed_redis_url():
    """A Redis address whose SYNs are dropped (a firewalled / half-dead network path): a listener
    with backlog 0 whose one accept-queue slot is already taken, so every connect() times out."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    filler = socket.create_connection(listener.getsockname())
    yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    filler.close()
    listener.close()


def test_a_connect_timeout_opens_the_circuit_too(blackholed_redis_url):
    """A blackholed address: each operation waited its own connect timeout (5 x 0.3 s) and the
    circuit never opened, as connect() runs in the pool's get_connection(), before any send."""
    hung = _cache(blackholed_redis_url, timeout=0.3)
    misses, waited = _timed(lambda: [hung.get(f"k{n}") for n in range(5)])
    assert misses == [None] * 5
    assert redis_breaker._open_until, "a connect timeout did not open the circuit"
    assert waited < 0.6, f"5 operations took {waited:.2f} s"


class _FiveAMinute(throttling.SharedWindowThrottle):
    rate = "5/min"
    scope = "audit"

    def get_cache_key(self, request, view):
        return "throttle_audit_probe"


@pytest.mark.redis
def test_an_error_reply_to_the_probe_closes_the_circuit(monkeypatch):
    """After a Redis restart (or failover, SCRIPT FLUSH) the throttle's first EVALSHA answers
    NOSCRIPT. When that EVALSHA is the half-open probe, read_response raises ResponseError, so
    the circuit is not closed although Redis answered, and the probe has re-armed it for
    OPEN_SECONDS: Script's SCRIPT LOAD right after fails with CircuitOpen, the throttle lets the
    request through uncounted, and every other operation in the process misses for another
    OPEN_SECONDS while Redis is healthy.

    Before, the circuit stayed open and nothing was counted."""
    # A script body this Redis has never seen: the NOSCRIPT a restarted Redis answers, without
    # flushing the server-wide script cache (another job uses this Redis).
    fresh = Script(None, throttling._SLIDING_WINDOW.script + f"\n-- {uuid.uuid4().hex}".encode())
    monkeypatch.setattr(throttling, "_SLIDING_WINDOW", fresh)
    client = cache.client.get_client()
    client.ping()  # a connected idle connection in the pool, as under steady traffic
    pool = client.connection_pool
    circuit = (pool.connection_kwargs["host"], pool.connection_kwargs["port"], None)
    redis_breaker._open_until[circuit] = time.monotonic() - 1  # open, due for its probe

    assert _FiveAMinute().allow_request(APIRequestFactory().get("/api/products/"), None) is True

    assert redis_breaker._open_until == {}, "Redis answered the probe, the circuit is still open"
    assert client.zcard(cache.make_key("throttle_audit_probe")) == 1


def test_a_hung_tls_redis_costs_one_timeout_not_one_per_operation(silent_redis_url):
    """rediss://: every operation after the first opens a new connection (the timed-out one was
    dropped), whose TLS handshake hangs inside connect(), before send_packed_command() checks the
    circuit; the handshake's timeout is never recorded either.
    Before: 5 x 0.3 s, and the circuit never opened."""
    hung = _cache(silent_redis_url.replace("redis://", "rediss://") + "?ssl_cert_reqs=none", timeout=0.3)
    misses, waited = _timed(lambda: [hung.get(f"k{n}") for n in range(5)])
    assert misses == [None] * 5
    assert redis_breaker._open_until, "a TLS handshake timeout did not open the circuit"
    assert waited < 0.6, f"5 operations took {waited:.2f} s"


@pytest.fixture
def stopped_redis_url(tmp_path):
    """A real redis-server, then SIGSTOPped: the kernel still completes TCP handshakes into its
    accept queue (tcp-backlog), nothing answers. The motivating 'hung Redis'."""
    import shutil
    import signal

    if not shutil.which("redis-server"):
        pytest.skip("no redis-server binary")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--tcp-backlog",
            "32",
            "--dir",
            str(tmp_path),
        ],  # fmt: skip
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 5
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    url = f"redis://127.0.0.1:{port}/0"
    proc.send_signal(signal.SIGSTOP)
    yield url
    proc.send_signal(signal.SIGCONT)
    proc.kill()
    proc.wait()


def test_while_open_operations_do_not_open_a_connection_each(stopped_redis_url, monkeypatch):
    """While the circuit is open each operation still opened a new TCP connection (the pool's
    get_connection() connected before send_packed_command() checked the circuit; the CircuitOpen
    then made redis-py drop it). A hung Redis never accepts them, so they filled its accept
    queue (tcp-backlog, 511 by default, shared by every client process); from then on every
    connect waited SOCKET_CONNECT_TIMEOUT, which the breaker neither recorded nor prevented.
    Before (backlog 32): ~33 fast failures, then 0.3 s per operation (~20 s for 100).

    Counted, not timed: the TCP connections redis-py attempts (a wall-clock bound here failed
    once on a busy CI machine, 1.3 s for a 1.0 s limit)."""
    attempts = []
    connect = redis_connection.Connection._connect

    def counted_connect(self):
        attempts.append(self.port)
        return connect(self)

    monkeypatch.setattr(redis_connection.Connection, "_connect", counted_connect)
    hung = _cache(stopped_redis_url, timeout=0.3)
    started = time.monotonic()
    for n in range(100):
        hung.get(f"k{n}")
        if time.monotonic() - started > 30:
            break
    done = n + 1
    # The first operation's connection timed out in its handshake and opened the circuit; every
    # later one failed before connecting. One more may come from the half-open probe, should the
    # loop outlast OPEN_SECONDS on a slow machine.
    assert (done, len(attempts) <= 2) == (100, True), f"{done} operations, {len(attempts)} connects"


@pytest.mark.parametrize(
    "url", ["redis://127.0.0.1:6379/0", "rediss://127.0.0.1:6380/0", "unix:///run/redis.sock?db=0"]
)
def test_connections_parse_replies_with_hiredis(url):
    # requirements.txt pins hiredis: redis-py parses every reply in C with it, and silently in
    # Python without it (a redis-py that no longer accepts the pinned version would do so too).
    connection = redis_breaker.connection_class_for(url)()
    assert type(connection._parser).__name__ == "_HiredisParser"
