import logging
import smtplib

from anymail.exceptions import (
    AnymailCancelSend,
    AnymailError,
    AnymailInvalidAddress,
    AnymailRecipientsRefused,
    AnymailSerializationError,
    AnymailUnsupportedFeature,
)
from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)

# Errors from the mail provider that are worth retrying: network, timeouts, provider 5xx/429
# (AnymailAPIError), SMTP hiccups.
RETRYABLE_EMAIL_ERRORS = (AnymailError, smtplib.SMTPException, OSError)
# ...except the ones another attempt cannot fix: a refused or malformed address, a message the
# provider cannot represent.
PERMANENT_EMAIL_ERRORS = (
    AnymailRecipientsRefused,
    AnymailInvalidAddress,
    AnymailUnsupportedFeature,
    AnymailSerializationError,
    AnymailCancelSend,
    smtplib.SMTPRecipientsRefused,
)
# Delays of up to 30 s, 1, 2, 4, 8 and then 10 min three times (EMAIL_RETRY_BACKOFF = 30), each drawn
# at random below its cap (full jitter): the last retry comes about 23 minutes after the first
# failure on average, 45 at most, so a provider outage that long still delivers. (With 1 s steps
# the six retries were spent in about 15 s.)
EMAIL_MAX_RETRIES = 8


@shared_task(
    autoretry_for=RETRYABLE_EMAIL_ERRORS,
    dont_autoretry_for=PERMANENT_EMAIL_ERRORS,
    retry_backoff=settings.EMAIL_RETRY_BACKOFF,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=EMAIL_MAX_RETRIES,
)
def send_templated_email(*, to: list[str], subject: str, template: str, context: dict) -> int:
    """Render `templates/emails/<template>.txt` and `.html` and send them through Django's email API."""
    text_body = render_to_string(f"emails/{template}.txt", context)
    html_body = render_to_string(f"emails/{template}.html", context)
    message = EmailMultiAlternatives(
        subject=subject, body=text_body, from_email=settings.DEFAULT_FROM_EMAIL, to=to
    )
    message.attach_alternative(html_body, "text/html")
    sent = message.send()
    logger.info("email sent", extra={"template": template, "recipients": len(to)})
    return sent
