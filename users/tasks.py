from celery import shared_task


@shared_task
def password_reset_send_task(*, email: str) -> None:
    """The worker's half of `POST /api/password-reset/`: look the account up, make the token and
    queue the email (`users.services.password_reset_send`)."""
    from . import services

    services.password_reset_send(email=email)


@shared_task
def flush_expired_tokens() -> int:
    """Daily (beat): delete expired refresh and reset tokens (`users.services.tokens_flush_expired`)."""
    from . import services

    return services.tokens_flush_expired()
