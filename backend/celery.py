"""Celery application: `celery -A backend worker` runs tasks, `celery -A backend beat` schedules them.

Without REDIS_URL tasks run inline (CELERY_TASK_ALWAYS_EAGER). Broker, results, the beat
schedule and the task defaults live in `backend/settings.py` under `CELERY_*`.
"""

import os

from celery import Celery
from celery.signals import before_task_publish, setup_logging, task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")

app = Celery("backend")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def _use_django_logging(**kwargs) -> None:
    """Workers and beat log like the web processes: JSON lines, secrets masked (settings.LOGGING)."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)


@before_task_publish.connect
def _send_request_id(headers=None, **kwargs) -> None:
    """Tasks queued while serving a request carry its id, so the worker's log lines match it."""
    from core.logging import request_id_var

    request_id = request_id_var.get()
    if headers is not None and request_id != "-":
        headers.setdefault("request_id", request_id)


_request_id_tokens: dict[str, object] = {}


@task_prerun.connect
def _bind_request_id(task_id=None, task=None, **kwargs) -> None:
    from core.logging import request_id_var

    request_id = getattr(task.request, "request_id", None) if task is not None else None
    current = request_id_var.get()  # an inline (eager) task runs inside the request itself
    _request_id_tokens[task_id] = request_id_var.set(
        request_id or (current if current != "-" else None) or task_id or "-"
    )


@task_postrun.connect
def _unbind_request_id(task_id=None, **kwargs) -> None:
    from core.logging import request_id_var

    token = _request_id_tokens.pop(task_id, None)
    if token is not None:
        request_id_var.reset(token)
