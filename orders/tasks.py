from celery import shared_task

from .services import order_expire_pending


@shared_task
def expire_pending_orders() -> int:
    """Periodic (CELERY_BEAT_SCHEDULE, every minute): cancel unpaid card orders past expires_at."""
    return order_expire_pending()
