"""The checkout under the production server model: granian's worker processes with threads
(`python -m backend.serve`), persistent database connections, on PostgreSQL, with the fake Stripe.

Many buyers race for the last units at once: exactly the stock is sold, the others get 409, no
5xx; and the database connections stay bounded by workers x threads, are reused across requests
(DB_CONN_MAX_AGE), are closed with the threads the server ends when they idle, and are all closed
when the server stops.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import jwt
import psycopg
import pytest
import requests
from django.conf import settings
from django.db import connection
from rest_framework_simplejwt.tokens import AccessToken

from addresses.tests.factories import AddressFactory
from core.tests.test_production import BASE_DIR, PYTHON, _free_port, _server_database_url, production_env
from orders.models import Order
from products.models import Product
from products.tests.factories import ProductFactory
from users.tests.factories import UserFactory

from .conftest import fill_cart

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WORKERS = 2
THREADS = 4
BUYERS = 24
STOCK = 5


def _token(user, secret_key: str) -> str:
    """An access token signed with the server's SECRET_KEY (simplejwt's HS256 default)."""
    return jwt.encode(dict(AccessToken.for_user(user).payload), secret_key, algorithm="HS256")


class ConnectionWatcher:
    """Samples pg_stat_activity for the server's connections to this test database (from a
    connection of its own, not counted): the most seen at once and every backend pid seen."""

    def __init__(self, conninfo: str, database: str) -> None:
        self.conn = psycopg.connect(conninfo, autocommit=True)
        self.database = database
        self.most = 0
        self.pids: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def now(self) -> list[int]:
        rows = self.conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid() AND pid <> %s",
            [self.database, self._test_pid],
        ).fetchall()
        return [row[0] for row in rows]

    def _run(self) -> None:
        while not self._stop.is_set():
            pids = self.now()
            self.most = max(self.most, len(pids))
            self.pids.update(pids)
            time.sleep(0.01)

    def __enter__(self) -> ConnectionWatcher:
        with connection.cursor() as cursor:  # the test's own Django connection is not the server's
            cursor.execute("SELECT pg_backend_pid()")
            self._test_pid = cursor.fetchone()[0]
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.conn.close()


def test_threaded_checkouts_sell_the_last_units_once_and_bound_connections(tmp_path: Path, stripe_server):
    product = ProductFactory(stock=STOCK, price=Decimal("10.00"))
    buyers = []
    for _ in range(BUYERS):
        user = UserFactory()
        fill_cart(user, [(product, 1)])
        buyers.append((user, AddressFactory(user=user)))

    port = _free_port()
    env = production_env(
        tmp_path,
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        REDIS_URL=settings.REDIS_URL or None,
        CACHE_KEY_PREFIX=f"threaded-test-{port}",
        STRIPE_API_BASE=stripe_server,
        STRIPE_SECRET_KEY=settings.STRIPE_SECRET_KEY,
        STRIPE_PUBLISHABLE_KEY=settings.STRIPE_PUBLISHABLE_KEY,
        STRIPE_WEBHOOK_SECRET=settings.STRIPE_WEBHOOK_SECRET,
        CLOUDINARY_URL=None,
        RESEND_API_KEY=None,
        SENTRY_DSN=None,
        THROTTLE_RATE_USER="100000/min",
        PORT=str(port),
        WEB_BIND_ADDRESS="127.0.0.1",
        WEB_CONCURRENCY=str(WORKERS),
        WEB_THREADS=str(THREADS),
        WEB_THREAD_IDLE_TIMEOUT="5",  # granian's least: idle threads end after 5 s
        DB_CONN_MAX_AGE="60",
        LOG_LEVEL="WARNING",
    )
    env["DATABASE_URL"] = _server_database_url(tmp_path, env)
    secret_key = env["SECRET_KEY"]
    database = connection.settings_dict["NAME"]
    conninfo = env["DATABASE_URL"].replace("postgres://", "postgresql://", 1)

    stderr_path = tmp_path / "server.err"
    with stderr_path.open("wb") as err:
        server = subprocess.Popen(
            [PYTHON, "-m", "backend.serve"],
            cwd=BASE_DIR,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                assert requests.get(f"{base}/api/health/", timeout=10).status_code == 200
                break
            except requests.ConnectionError:
                assert server.poll() is None, stderr_path.read_text()
                assert time.monotonic() < deadline, "the server did not start\n" + stderr_path.read_text()
                time.sleep(0.3)

        def checkout(buyer) -> tuple[int, dict]:
            user, address = buyer
            response = requests.post(
                f"{base}/api/orders/create/",
                json={"shipping_address_id": address.pk, "payment_method": "card"},
                headers={"Authorization": f"Bearer {_token(user, secret_key)}"},
                timeout=60,
            )
            return response.status_code, response.json()

        def cart_read(buyer) -> int:
            user, _ = buyer
            headers = {"Authorization": f"Bearer {_token(user, secret_key)}"}
            return requests.get(f"{base}/api/cart/", headers=headers, timeout=60).status_code

        with ConnectionWatcher(conninfo, database) as watcher:
            with ThreadPoolExecutor(max_workers=BUYERS) as pool:
                results = list(pool.map(checkout, buyers))
                # A second wave on the same server: connections are reused, never piled up.
                reads = list(pool.map(cart_read, buyers * 2))
            still_open = watcher.now()

        statuses = sorted(status for status, _ in results)
        assert statuses.count(201) == STOCK, results
        assert statuses.count(409) == BUYERS - STOCK, results
        assert {body["code"] for status, body in results if status == 409} == {"insufficient_stock"}
        assert reads == [200] * (2 * BUYERS)
        # Threads really served in parallel, yet never more connections than threads in all...
        assert 2 <= watcher.most <= WORKERS * THREADS, watcher.most
        # ...and they were kept and reused (DB_CONN_MAX_AGE), not opened per request.
        assert len(watcher.pids) <= WORKERS * THREADS, watcher.pids
        assert 1 <= len(still_open) <= WORKERS * THREADS

        # Idle, the server ends its threads (each worker may keep one), and an ended thread's
        # connection is closed with it (core/thread_connections.py), not left to the collector.
        idle_left = _connections_left(conninfo, database, at_most=WORKERS, seconds=30)
        assert idle_left <= WORKERS, (idle_left, len(still_open))
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            exit_code = server.wait(timeout=40)
        except subprocess.TimeoutExpired:
            server.kill()
            raise
    assert exit_code == 0, stderr_path.read_text()
    assert "Traceback" not in stderr_path.read_text()

    # Stopping the server closes every connection it held.
    assert _connections_left(conninfo, database, at_most=0, seconds=10) == 0

    product.refresh_from_db()
    assert product.stock == 0
    assert Order.objects.filter(items__product=product).distinct().count() == STOCK
    assert Product.objects.filter(pk=product.pk, stock__lt=0).count() == 0


def _connections_left(conninfo: str, database: str, *, at_most: int, seconds: float) -> int:
    """The server's connections to the test database, polled until at most `at_most` are left
    or `seconds` have passed (the test's own connections are not counted)."""
    with psycopg.connect(conninfo, autocommit=True) as probe:
        deadline = time.monotonic() + seconds
        while True:
            left = probe.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid() "
                "AND pid <> %s",
                [database, _test_backend_pid()],
            ).fetchone()[0]
            if left <= at_most or time.monotonic() > deadline:
                return left
            time.sleep(0.2)


def _test_backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]
