"""Full garbage collections without the app's long-lived objects: a WSGI wrapper that, after a
process's first `GC_FREEZE_AFTER` requests (default 200; 0 turns it off), runs one full collection
and then `gc.freeze()`, once per process.

A warmed web process holds ~150,000 long-lived objects (modules, settings, URL patterns, compiled
SQL). Python's full collections walk all of them, about 75 ms each, once every few hundred
requests: 16-21 % of an uncached list page's CPU (issue 12, docs/bench.md, ninth look). Frozen
objects are skipped by later collections. The freeze waits for the first requests because those
build much of what a process keeps (a freeze at start-up found no gain). What is frozen is never
collected: the collection just before keeps that small, but it also keeps the cyclic garbage of the
requests in flight at that moment (1,000-4,600 objects, a few hundred kB, measured), once per process.

The collection runs when the server closes the response that reached the count, after its body was
sent, so no client waits for it. Server-independent: `backend.wsgi` wraps the production
application, `bench.wsgi` the bench's.
"""

from __future__ import annotations

import gc
import itertools
import logging
import threading

logger = logging.getLogger("novacart.server")


class FreezeAfterWarmup:
    """`FreezeAfterWarmup(app, after=200)`: the WSGI application `app`, with the freeze above."""

    def __init__(self, app, after: int):
        if after < 0:
            raise ValueError("after must be 0 (off) or more")
        self.app = app
        self.after = after
        self._armed = after > 0  # False once a request has taken the freeze: no more counting
        self._served = itertools.count(1)  # next() on a count is atomic under the GIL
        self._once = threading.Lock()  # taken without waiting, never released: one freeze

    def __call__(self, environ, start_response):
        response = self.app(environ, start_response)
        if not self._armed:
            return response
        served = next(self._served)
        if served >= self.after and self._once.acquire(blocking=False):
            self._armed = False
            return _ThenFreeze(response, served)
        return response


class _ThenFreeze:
    """The response, with the collection and the freeze after the server closes it."""

    def __init__(self, response, served: int):
        self.response = response
        self.served = served

    def __iter__(self):
        return iter(self.response)

    def close(self):
        try:
            close = getattr(self.response, "close", None)
            if close is not None:
                close()
        finally:
            gc.collect()
            gc.freeze()
            logger.info("gc: %d objects frozen after %d requests", gc.get_freeze_count(), self.served)
