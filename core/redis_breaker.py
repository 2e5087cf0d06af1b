"""A circuit breaker on the shared cache's Redis connections.

A Redis that accepts connections but does not answer (stopped with its port still open, a
half-dead network path) made cache operations wait out their socket timeout (2 s): four
catalogue requests in one process took 8.1 s, 2.2 s with the breaker. After one timeout, each
process stops sending to that Redis for `OPEN_SECONDS`: an operation fails at once with
`CircuitOpen` (a `ConnectionError`), which the cache's IGNORE_EXCEPTIONS turns into a miss, the
throttle lets through and the health check reports as a 503. Then one operation tries again
(the others still fail at once until it has answered); an answer closes the circuit, a timeout
opens it for another `OPEN_SECONDS`.

Only timeouts open it (a read or write, a TCP connect to a blackholed address, a TLS handshake):
a refused connection fails in microseconds anyway, and redis-py reconnects by itself after a
connection the server closed. While it is open no new connection is made either: a stopped
Redis's accept queue would fill with them, and then every connect would wait its timeout. Any
reply closes it, an error reply too (NOSCRIPT after a restart is Redis answering); a reply that
is not Redis' protocol at all is a `NotRedis` connection error, which leaves it as it is. The
threshold is one timeout: a stall of over 2 s (a fork for a snapshot, a failover) also opens it
for 5 s, when the cache misses and the throttles let requests through.

The connection class follows the URL's scheme (`connection_class_for`) and is wired in
`backend/settings.py` through django-redis' `CONNECTION_POOL_KWARGS`; the throttle's Lua script
runs on the same pool.
"""

from __future__ import annotations

import threading
import time

from redis.connection import Connection, SSLConnection, UnixDomainSocketConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import InvalidResponse, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

OPEN_SECONDS = 5.0

# Per Redis server (host and port, or socket path): until when (time.monotonic()) its circuit is open.
_open_until: dict[tuple, float] = {}
_lock = threading.Lock()


class CircuitOpen(RedisConnectionError):
    """Redis timed out moments ago; this operation is not sent."""


class NotRedis(RedisConnectionError):
    """The server at the cache's address answered, but not in Redis' protocol (an HTTP or
    TLS-only endpoint behind a plain redis:// URL). redis-py raises `InvalidResponse`, which
    django-redis' IGNORE_EXCEPTIONS does not cover (every cached request was a 500); as a
    `ConnectionError` it degrades like an unreachable Redis: a miss, a throttle let through, a
    503 from the health check."""


class _CircuitBreaker:
    _circuit_probing = False  # this connection carries the half-open probe (and its handshake)

    def _circuit(self) -> tuple:
        return (getattr(self, "host", None), getattr(self, "port", None), getattr(self, "path", None))

    def _circuit_check(self) -> None:
        if not _open_until or self._circuit_probing:  # the healthy path: no lock
            return
        circuit = self._circuit()
        with _lock:
            until = _open_until.get(circuit)
            if until is None:
                return
            now = time.monotonic()
            if now < until:
                raise CircuitOpen(f"Redis at {self._describe()} timed out; next try in {until - now:.1f} s.")
            _open_until[circuit] = now + OPEN_SECONDS  # this operation is the one that tries again
            self._circuit_probing = True

    def _circuit_trip(self) -> None:
        self._circuit_probing = False
        with _lock:
            _open_until[self._circuit()] = time.monotonic() + OPEN_SECONDS

    def _circuit_close(self) -> None:
        self._circuit_probing = False
        if _open_until:
            with _lock:
                _open_until.pop(self._circuit(), None)

    def _describe(self) -> str:
        host, port, path = self._circuit()
        return path or f"{host}:{port}"

    def send_packed_command(self, command, check_health=True):
        self._circuit_check()
        try:
            return super().send_packed_command(command, check_health=check_health)
        except RedisTimeoutError:
            self._circuit_trip()
            raise

    def _connect(self):
        # A new connection (TCP connect, TLS handshake) is an operation too: a blackholed address
        # or a hung TLS server times out here, in the pool's get_connection(), before any send.
        self._circuit_check()
        try:
            return super()._connect()
        except (TimeoutError, RedisTimeoutError):  # the socket's (connect, TLS handshake) or redis-py's
            self._circuit_trip()
            raise

    def disconnect(self, *args, **kwargs):
        self._circuit_probing = False
        return super().disconnect(*args, **kwargs)

    def read_response(self, *args, **kwargs):
        try:
            response = super().read_response(*args, **kwargs)
        except RedisTimeoutError:
            self._circuit_trip()
            raise
        except ResponseError:  # an error reply is an answer: the server is there
            self._circuit_close()
            raise
        except InvalidResponse as error:  # redis-py has already closed the connection
            raise NotRedis(f"The server at {self._describe()} does not speak Redis: {error}") from error
        self._circuit_close()
        return response


class BreakerConnection(_CircuitBreaker, Connection):
    pass


class BreakerSSLConnection(_CircuitBreaker, SSLConnection):
    pass


class BreakerUnixDomainSocketConnection(_CircuitBreaker, UnixDomainSocketConnection):
    pass


def connection_class_for(url: str) -> type[Connection]:
    """The breaker connection class for a redis://, rediss:// or unix:// URL."""
    if url.startswith("rediss://"):
        return BreakerSSLConnection
    if url.startswith("unix://"):
        return BreakerUnixDomainSocketConnection
    return BreakerConnection
