"""Emails are queued only after the surrounding transaction commits, so nothing is ever sent
for work that rolled back. Locally (no REDIS_URL) the task runs inline."""

from django.db import transaction

from .tasks import send_templated_email


def email_send_on_commit(*, to: list[str], subject: str, template: str, context: dict) -> None:
    """Queue `templates/emails/<template>.{txt,html}`; `context` must be JSON-serialisable."""
    recipients = [address for address in to if address]
    if not recipients:
        return
    transaction.on_commit(
        lambda: send_templated_email.delay(to=recipients, subject=subject, template=template, context=context)
    )
