"""The bench server's WSGI application: the production application (backend.wsgi) for every
path, and one bench-only path, `/api/bench/bare/`, that runs the same `/api/bench/ping/` view
through a Django handler with no middleware at all.

`ping` (full middleware stack) against `bare` (none), in one server and one run, is the
middleware and authentication stack's overhead that issue 12 asks for. Only the bench starts
the web server with `bench.wsgi` (bench/runner.py); production serves `backend.wsgi`, where neither
path exists.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings_bench")

from django.conf import settings
from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler

from backend.wsgi import application as production_application
from core.gc_freeze import FreezeAfterWarmup

full_application = production_application.app  # without the freeze (wrapped below)

BARE_PATH = "/api/bench/bare/"
PING_PATH = "/api/bench/ping/"


class NoMiddlewareHandler(WSGIHandler):
    """Django's WSGI handler with an empty middleware chain (whatever settings.MIDDLEWARE says):
    URL resolution, the view, the response, and nothing else."""

    def load_middleware(self, is_async=False):
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        self._middleware_chain = convert_exception_to_response(self._get_response)


bare_application = NoMiddlewareHandler()


def dispatch(environ, start_response):
    if environ.get("PATH_INFO") == BARE_PATH:
        environ["PATH_INFO"] = PING_PATH  # the very same view, minus the middleware
        return bare_application(environ, start_response)
    return full_application(environ, start_response)


# The production freeze (core/gc_freeze.py) counts every request, the bare view's included, so
# every scenario is measured with it, as production runs.
application = FreezeAfterWarmup(dispatch, after=settings.GC_FREEZE_AFTER)
