"""A thread's database connections closed when the thread ends.

Django keeps one persistent connection per thread (DB_CONN_MAX_AGE) and closes it at a request's
start or end, when it is too old or unusable. A thread that ends between requests leaves its
connection open: nothing closes it but Python's cyclic garbage collector (Django's connection
wrapper sits in reference cycles), and never if the wrapper was created before `gc.freeze()`
(core/gc_freeze.py). granian ends a worker's idle app threads after 30 s and starts new ones when
requests need them, so without this every burst after a lull left its threads' connections open
on PostgreSQL, beyond the WEB_CONCURRENCY x WEB_THREADS bound (found by an audit: 22 connections
where 16 threads could hold them, some idle for minutes).

`CloseConnectionsOnThreadExit` wraps the WSGI application: on a thread's first request it puts a
sentinel in a `threading.local`, holding that thread's connection wrappers. When the thread ends,
Python drops the thread's locals, the sentinel is freed by reference counting (frozen or not) and
closes each wrapper's open connection. One attribute read per request after the first.
"""

from __future__ import annotations

import logging
import threading

from django.db import connections

logger = logging.getLogger("novacart.server")

_local = threading.local()


class _ClosesOnExit:
    """Freed with the thread's locals; closes the connections of the wrappers it holds."""

    def __init__(self, wrappers: list):
        self.wrappers = wrappers

    def __del__(self):
        for wrapper in self.wrappers:
            connection = getattr(wrapper, "connection", None)
            if connection is None:
                continue
            try:
                # The driver's close, not Django's: Django's refuses a call from another thread,
                # and a thread's locals may be freed by whichever thread clears its state.
                connection.close()
            except Exception:  # a broken connection is as closed as it gets; never raise in __del__
                logger.debug("closing an ended thread's connection failed", exc_info=True)


class CloseConnectionsOnThreadExit:
    """The WSGI application `app`, each of whose threads closes its connections when it ends."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        if getattr(_local, "sentinel", None) is None:  # the thread's first request
            _local.sentinel = _ClosesOnExit([connections[alias] for alias in connections])
        return self.app(environ, start_response)
