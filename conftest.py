"""Shared fixtures: API clients, users, and the PostgreSQL/Redis markers.

Tests marked `postgres` need PostgreSQL (real row locks and concurrency). On SQLite they are
skipped with a reason, unless REQUIRE_POSTGRES=1, which turns the skip into a failure so CI
cannot pass without them. `redis` and REQUIRE_REDIS=1 work the same way.
"""

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from backend.celery import app as celery_app

# Tasks run inline in tests (emails land in the locmem outbox); the worker test opts out.
celery_app.conf.task_always_eager = True
celery_app.conf.task_eager_propagates = True


def _truthy(name: str) -> bool:
    return os.environ.get(name, "").lower() in {"1", "true", "yes"}


def pytest_collection_modifyitems(config, items):
    is_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    has_redis = bool(settings.REDIS_URL)
    for item in items:
        if "postgres" in item.keywords and not is_postgres:
            if _truthy("REQUIRE_POSTGRES"):
                item.add_marker(pytest.mark.usefixtures("_fail_missing_postgres"))
            else:
                item.add_marker(pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL=postgres://...)"))
        if "redis" in item.keywords and not has_redis:
            if _truthy("REQUIRE_REDIS"):
                item.add_marker(pytest.mark.usefixtures("_fail_missing_redis"))
            else:
                item.add_marker(pytest.mark.skip(reason="needs Redis (set REDIS_URL=redis://...)"))


@pytest.fixture
def _fail_missing_postgres():
    pytest.fail("REQUIRE_POSTGRES=1 but DATABASE_URL does not point at PostgreSQL")


@pytest.fixture
def _fail_missing_redis():
    pytest.fail("REQUIRE_REDIS=1 but REDIS_URL is not set")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session", autouse=True)
def stripe_server():
    """localstripe, a stateful fake Stripe server, on a free loopback port for the whole session.

    Every test's Stripe calls (through the real SDK, over HTTP) go to it. Yields its base URL.
    """
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "core.testing.localstripe_server", str(port)],
        cwd=settings.BASE_DIR,  # `-m core...` must resolve wherever pytest was started from
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("localstripe did not start") from None
            time.sleep(0.1)
    settings.STRIPE_API_BASE = base
    settings.STRIPE_SECRET_KEY = "sk_test_novacart"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_novacart"
    settings.STRIPE_WEBHOOK_SECRET = "whsec_novacart_test"
    yield base
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture
def closed_port_stripe(settings):
    """Points the Stripe SDK at a loopback port nothing listens on (Stripe unreachable)."""
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{_free_port()}"
    return settings.STRIPE_API_BASE


@pytest.fixture(autouse=True)
def _isolated_cache_and_media(settings, tmp_path):
    """Fresh throttle counters and cache for every test; uploaded files go to a temp dir."""
    from django.core.cache import cache

    if hasattr(cache, "delete_pattern"):
        cache.delete_pattern("*")
    else:
        cache.clear()
    settings.MEDIA_ROOT = tmp_path / "media"
    # PBKDF2 is deliberately slow; tests only need a working hasher.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    yield


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def user(db):
    from users.tests.factories import UserFactory

    return UserFactory()


@pytest.fixture
def other_user(db):
    from users.tests.factories import UserFactory

    return UserFactory()


@pytest.fixture
def staff_user(db):
    from users.tests.factories import UserFactory

    return UserFactory(is_staff=True)


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


def run_together(count: int, work: Callable[[int], object], *, wait: float = 10, join: float = 60) -> list:
    """Run `work(i)` for each i in range(count), each in its own thread (so its own database
    connection, closed when done), all released at the same instant; their results, or the
    exceptions they raised, in order. For race tests on PostgreSQL (transactional db)."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def target(i: int) -> None:
        try:
            barrier.wait(timeout=wait)
            results[i] = work(i)
        except Exception as exc:  # returned to the test, which asserts on it
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=join)
    assert not any(thread.is_alive() for thread in threads), "a thread hung (deadlock?)"
    return results


@contextmanager
def loopback_http_server(handler: type[BaseHTTPRequestHandler]) -> Iterator[ThreadingHTTPServer]:
    """`handler` served on a free 127.0.0.1 port from a daemon thread while the block runs (a fake
    third-party HTTP service for tests); `server.server_address` gives the port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def loopback_redis_url(serve: Callable[[socket.socket], None]) -> Iterator[str]:
    """A redis:// URL whose server is a loopback listener handing each connection it accepts to
    `serve` (on the accepting thread, so keep it short), for Redis faults a test needs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)

    def accept():
        while True:
            try:
                conn = listener.accept()[0]
            except OSError:
                return
            serve(conn)

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    finally:
        listener.close()


@pytest.fixture
def silent_redis_url() -> Iterator[str]:
    """A redis:// URL whose server accepts connections and never says a word: a hung Redis
    (stopped with its port open, a half-dead network path)."""
    held: list[socket.socket] = []
    try:
        with loopback_redis_url(held.append) as url:
            yield url
    finally:
        for conn in held:
            conn.close()


@pytest.fixture
def auth_client(user) -> APIClient:
    return client_for(user)


@pytest.fixture
def other_client(other_user) -> APIClient:
    return client_for(other_user)


@pytest.fixture
def staff_client(staff_user) -> APIClient:
    return client_for(staff_user)
