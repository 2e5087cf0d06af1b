"""The WSGI application, served in production by granian (`python -m backend.serve`).

Django's handler, wrapped so that each app thread closes its database connections when the
server ends it (core/thread_connections.py), and each process freezes its long-lived objects out
of the garbage collector's full collections after its first requests (core/gc_freeze.py).
"""

import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

from core.gc_freeze import FreezeAfterWarmup
from core.thread_connections import CloseConnectionsOnThreadExit

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
application = FreezeAfterWarmup(
    CloseConnectionsOnThreadExit(get_wsgi_application()), after=settings.GC_FREEZE_AFTER
)
