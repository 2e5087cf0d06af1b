"""Emails are queued only after the surrounding transaction commits, so nothing is ever sent
for work that rolled back. Locally (no REDIS_URL) the task runs inline."""

import logging
from typing import Any

from celery.result import AsyncResult
from django.db import transaction

from .background import task_enqueue
from .tasks import send_templated_email

logger = logging.getLogger(__name__)


def email_enqueue(
    *, to: list[str], subject: str, template: str, context: dict, **publish_options: Any
) -> AsyncResult | None:
    """Queue the email now (None when the broker is unreachable). Services call
    `email_send_on_commit`; this is its second half.

    `publish_options` go to `apply_async` (e.g. `queue`). The task's kwargs are shown to workers'
    logs and monitors only as `kwargsrepr`: recipients and links (a password-reset token) stay out.
    """
    # A broker failure is logged at ERROR and answered with None (core.background.task_enqueue):
    # the work this email reports has committed, and must not turn into a 500.
    return task_enqueue(
        send_templated_email,
        kwargs={"to": to, "subject": subject, "template": template, "context": context},
        kwargsrepr=repr({"template": template, "recipients": len(to)}),
        **publish_options,
    )


def email_send_on_commit(*, to: list[str], subject: str, template: str, context: dict) -> None:
    """Queue `templates/emails/<template>.{txt,html}`; `context` must be JSON-serialisable."""
    recipients = [address for address in to if address]
    if not recipients:
        return
    transaction.on_commit(
        lambda: email_enqueue(to=recipients, subject=subject, template=template, context=context)
    )
