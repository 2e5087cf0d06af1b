"""The WSGI application, served in production by granian (`python -m backend.serve`)."""

import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

from core.gc_freeze import FreezeAfterWarmup

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
application = FreezeAfterWarmup(get_wsgi_application(), after=settings.GC_FREEZE_AFTER)
