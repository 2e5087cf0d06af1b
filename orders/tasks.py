from celery import shared_task

from .services import order_expire_pending, order_intents_cancel_retry


@shared_task
def expire_pending_orders() -> int:
    """Periodic (CELERY_BEAT_SCHEDULE, every minute): cancel unpaid card orders past expires_at."""
    return order_expire_pending()


@shared_task
def retry_payment_intent_cancels() -> int:
    """Periodic (CELERY_BEAT_SCHEDULE, every 5 minutes): cancel on Stripe the PaymentIntents that
    cancelled orders still hold open because Stripe was down when the order was cancelled."""
    return order_intents_cancel_retry()
