"""Queue Celery tasks from request-serving code: after the surrounding transaction commits, and
never at the cost of the response.

Every side effect of a write (emails, the password-reset mail) goes through `task_enqueue_on_commit`,
so nothing is queued for work that rolled back, and a broker that cannot take the task (Redis down,
a broker transport that cannot even be imported) never turns the committed write into a 500.
"""

import logging
from typing import Any

from celery import Task
from celery.result import AsyncResult
from django.db import transaction

logger = logging.getLogger(__name__)


def task_enqueue(
    task: Task, *, kwargs: dict[str, Any], kwargsrepr: str, **publish_options: Any
) -> AsyncResult | None:
    """Publish `task` now; None when it could not be queued.

    Publishing retries once (`CELERY_TASK_PUBLISH_RETRY_POLICY`), each broker socket operation
    bounded by 2 s (`CELERY_BROKER_TRANSPORT_OPTIONS`), so a broker that hangs costs seconds,
    not the request. If it still fails, the failure is logged at ERROR (Sentry picks it up
    when configured) with the task name and `kwargsrepr` - never the kwargs, which may carry
    addresses or reset links - and the caller carries on: the write it reports has committed.

    Eager mode (no REDIS_URL: development and tests) runs the task inline here, and its errors
    propagate, so a broken task fails the test that ran it instead of being logged away.
    """
    options = {"kwargs": kwargs, "kwargsrepr": kwargsrepr, **publish_options}
    if task.app.conf.task_always_eager:
        return task.apply_async(**options)
    try:
        return task.apply_async(**options)
    except Exception as exc:  # broker unreachable, transport not importable, serialisation...
        logger.error(
            "task not queued",
            exc_info=True,
            extra={"task": task.name, "task_kwargs": kwargsrepr, "error_type": type(exc).__name__},
        )
        return None


def task_enqueue_on_commit(
    task: Task, *, kwargs: dict[str, Any], kwargsrepr: str, **publish_options: Any
) -> None:
    """`task_enqueue` once the current transaction commits (at once outside a transaction)."""
    transaction.on_commit(lambda: task_enqueue(task, kwargs=kwargs, kwargsrepr=kwargsrepr, **publish_options))
