from datetime import timedelta
from io import StringIO

from django.core.management import call_command
from django.utils import timezone

from core.exceptions import PaymentProviderError
from orders import services
from orders.models import Order
from orders.tasks import expire_pending_orders
from payments import gateway
from payments.models import Payment

from .conftest import cart_lines, pay_order, place_order, stock_of


def age(order, minutes: int) -> None:
    """Move the order's expiry `minutes` into the past."""
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(minutes=minutes))


def test_expired_pending_orders_are_cancelled_like_a_user_cancel(
    user, product, cheap, mailoutbox, django_capture_on_commit_callbacks
):
    expired = place_order(user, [(product, 2)])
    fresh = place_order(user, [(cheap, 1)])
    age(expired, 1)
    payment = Payment.objects.get(order=expired)

    with django_capture_on_commit_callbacks(execute=True):
        count = services.order_expire_pending()

    assert count == 1
    expired.refresh_from_db()
    assert expired.status == "CANCELLED" and expired.cancelled_at is not None
    assert "expired" in expired.events.latest("id").note
    assert Order.objects.get(pk=fresh.pk).status == "PENDING"
    assert stock_of(product, cheap) == [10, 9]
    assert cart_lines(user) == [(product.pk, 2)]
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CANCELLED
    assert gateway.retrieve_payment_intent(payment.payment_intent_id).status == "canceled"
    assert [m.subject for m in mailoutbox] == [f"Your order {expired.number} was cancelled"]

    # A second run finds nothing to do: stock is released once.
    assert services.order_expire_pending() == 0
    assert stock_of(product) == [10]


def test_expiry_leaves_paid_cod_and_future_orders_alone(user, product):
    paid = pay_order(place_order(user, [(product, 1)]))
    cod = place_order(user, [(product, 1)], payment_method="cod")
    age(paid, 60)
    Order.objects.filter(pk=cod.pk).update(created_at=timezone.now() - timedelta(days=30))

    assert services.order_expire_pending() == 0
    assert Order.objects.get(pk=paid.pk).status == "PAID"
    assert Order.objects.get(pk=cod.pk).status == "CONFIRMED"


def test_expiry_uses_the_given_clock(user, product):
    order = place_order(user, [(product, 1)])
    assert services.order_expire_pending(now=timezone.now()) == 0
    assert services.order_expire_pending(now=timezone.now() + timedelta(minutes=31)) == 1
    assert Order.objects.get(pk=order.pk).status == "CANCELLED"


def test_management_command(user, product):
    order = place_order(user, [(product, 3)])
    age(order, 5)
    out = StringIO()
    call_command("expire_pending_orders", stdout=out)
    assert "Expired 1 pending order" in out.getvalue()
    assert Order.objects.get(pk=order.pk).status == "CANCELLED"
    assert stock_of(product) == [10]


def test_celery_task_is_registered_under_the_beat_name(user, product, settings):
    from backend.celery import app

    assert (
        settings.CELERY_BEAT_SCHEDULE["expire-pending-orders"]["task"] == "orders.tasks.expire_pending_orders"
    )
    assert "orders.tasks.expire_pending_orders" in app.tasks
    order = place_order(user, [(product, 1)])
    age(order, 1)
    assert expire_pending_orders.delay().get() == 1
    assert Order.objects.get(pk=order.pk).status == "CANCELLED"


# --- PaymentIntents left open by a cancel that met Stripe down ----------------------------------


def test_intents_left_open_by_stripe_down_are_cancelled_on_retry(user, product, cheap, settings):
    from orders.tasks import retry_payment_intent_cancels

    first = place_order(user, [(product, 1)])
    second = place_order(user, [(cheap, 1)])
    live = place_order(user, [(cheap, 1)])  # still PENDING: its intent must stay payable
    api_base = settings.STRIPE_API_BASE
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # Stripe down
    services.order_cancel(order_id=first.pk, reason="changed my mind")
    age(second, 1)
    assert services.order_expire_pending() == 1
    payments = {order.pk: Payment.objects.get(order=order) for order in (first, second, live)}
    for order in (first, second):
        assert Order.objects.get(pk=order.pk).status == "CANCELLED"
        assert payments[order.pk].status == Payment.Status.REQUIRES_PAYMENT
        assert payments[order.pk].last_error.startswith("Cancel failed")

    # Still down: the run stops at the first order (one timeout, not one per order).
    assert services.order_intents_cancel_retry() == 0

    settings.STRIPE_API_BASE = api_base
    for order in (first, second):  # payable on Stripe until the retry
        assert gateway.retrieve_payment_intent(payments[order.pk].payment_intent_id).status != "canceled"
    assert retry_payment_intent_cancels.delay().get() == 2
    for order in (first, second):
        payment = Payment.objects.get(pk=payments[order.pk].pk)
        assert payment.status == Payment.Status.CANCELLED
        assert gateway.retrieve_payment_intent(payment.payment_intent_id).status == "canceled"
    live_payment = Payment.objects.get(pk=payments[live.pk].pk)
    assert live_payment.status == Payment.Status.REQUIRES_PAYMENT
    assert gateway.retrieve_payment_intent(live_payment.payment_intent_id).status != "canceled"
    assert services.order_intents_cancel_retry() == 0  # nothing left to do


def test_an_intent_stripe_keeps_refusing_does_not_hold_the_others_up(user, product, cheap, monkeypatch):
    stuck = place_order(user, [(product, 1)])
    other = place_order(user, [(cheap, 1)])
    stuck_intent = Payment.objects.get(order=stuck).payment_intent_id
    real_cancel = gateway.cancel_payment_intent
    stripe = {"down": True}

    def cancel(payment_intent_id):
        if stripe["down"] or payment_intent_id == stuck_intent:
            raise PaymentProviderError("Stripe refused.")
        return real_cancel(payment_intent_id)

    monkeypatch.setattr(gateway, "cancel_payment_intent", cancel)
    services.order_cancel(order_id=stuck.pk, reason="changed my mind")  # its attempt is the older
    services.order_cancel(order_id=other.pk, reason="changed my mind")
    stripe["down"] = False

    assert services.order_intents_cancel_retry() == 0  # the stuck one first: refused, the run stops
    assert services.order_intents_cancel_retry() == 1  # it went to the back: the other goes through
    assert Payment.objects.get(order=other).status == Payment.Status.CANCELLED
    assert Payment.objects.get(order=stuck).status == Payment.Status.REQUIRES_PAYMENT
