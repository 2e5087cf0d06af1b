from decimal import Decimal

import pytest

from core.exceptions import PaymentProviderError
from orders import services
from orders.models import ItemStatus, Order, OrderItem
from payments import gateway
from payments.models import Payment, Refund
from payments.services import payment_mark_succeeded, payment_refunds_sync
from products.tests.factories import ProductFactory

from .conftest import cart_lines, order_state, pay_order, place_order, stock_of


def url(order_id, item_id) -> str:
    return f"/api/orders/{order_id}/items/{item_id}/cancel/"


def items_of(order):
    return list(OrderItem.objects.filter(order=order).order_by("id"))


def stripe_refunded_minor(refund_ids) -> int:
    client = gateway.stripe_client()
    return sum(int(client.v1.refunds.retrieve(refund_id).amount) for refund_id in refund_ids)


# --- Unpaid orders --------------------------------------------------------------------------------


def test_cancel_a_line_of_a_pending_card_order(auth_client, user, product, cheap, mailoutbox):
    order = place_order(user, [(product, 2), (cheap, 1)])  # 39.98 + 4.50 + 5.00 shipping = 49.48
    first_payment = Payment.objects.get(order=order)
    line_product, line_cheap = items_of(order)

    response = auth_client.post(url(order.pk, line_cheap.pk), {"reason": "Changed my mind"})

    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["status"] == "PENDING"
    cancelled = next(i for i in data["items"] if i["id"] == line_cheap.pk)
    assert cancelled["status"] == "CANCELLED" and cancelled["cancelled_at"] is not None
    assert next(i for i in data["items"] if i["id"] == line_product.pk)["status"] == "ACTIVE"
    # An unpaid order owes for its active lines only: 39.98 + 5.00.
    assert (data["subtotal"], data["shipping_total"], data["total"]) == ("39.98", "5.00", "44.98")
    assert stock_of(product, cheap) == [8, 10]
    assert cart_lines(user) == []  # a cancelled line is not put back into the cart
    line_cheap.refresh_from_db()
    assert line_cheap.cancel_reason == "Changed my mind"
    assert "Changed my mind" in data["events"][-1]["note"]

    # The intent for the old amount is cancelled and one for the new total replaces it.
    first_payment.refresh_from_db()
    assert first_payment.status == Payment.Status.CANCELLED
    assert gateway.retrieve_payment_intent(first_payment.payment_intent_id).status == "canceled"
    current = Payment.objects.filter(order=order).exclude(pk=first_payment.pk).get()
    assert current.amount == Decimal("44.98")
    assert gateway.retrieve_payment_intent(current.payment_intent_id).amount == 4498

    # Paying the new intent settles the order at the new total.
    paid = pay_order(Order.objects.get(pk=order.pk))
    assert paid.total == Decimal("44.98")


def test_a_payment_that_beat_the_line_cancel_makes_it_409_and_is_applied_in_full(
    auth_client, user, product, cheap
):
    """The customer's payment went through on Stripe, its webhook not yet here, when they cancel
    one line. The open intent cannot be cancelled any more (Stripe settles which came first), so
    the cancel is 409 `payment_in_progress` and nothing changes; the payment then pays the order
    at its full total, and the line can be cancelled as a paid one (refunded). Before, the cancel
    went on: the order's total dropped, a new intent was made, and the payment that arrived for
    the old total was neither applied nor refunded (a concurrency audit: 5 of 5 runs)."""
    order = place_order(user, [(product, 2), (cheap, 1)])  # 49.48
    payment = Payment.objects.get(order=order)
    line_product, line_cheap = items_of(order)
    client = gateway.stripe_client()
    client.v1.payment_intents.update(payment.payment_intent_id, params={"payment_method": "pm_card_visa"})
    assert client.v1.payment_intents.confirm(payment.payment_intent_id).status == "succeeded"
    before = order_state(order)

    response = auth_client.post(url(order.pk, line_cheap.pk), {"reason": "too late"})

    assert response.status_code == 409, response.json()
    assert response.json()["code"] == "payment_in_progress"
    assert order_state(order) == before
    assert stock_of(product, cheap) == [8, 9]
    assert Payment.objects.filter(order=order).count() == 1

    intent = client.v1.payment_intents.retrieve(payment.payment_intent_id)
    payment_mark_succeeded(  # what the payment_intent.succeeded webhook does
        payment_intent_id=payment.payment_intent_id,
        amount_received_minor=int(intent.amount),
        currency=intent.currency,
        order_id=str(order.pk),
    )
    paid = Order.objects.get(pk=order.pk)
    assert paid.status == "PAID" and paid.total == Decimal("49.48")
    again = auth_client.post(url(order.pk, line_cheap.pk), {"reason": "now refunded"})
    assert again.status_code == 200
    assert Refund.objects.get(order_item=line_cheap).amount == Decimal("4.50")


def test_cancelling_the_last_line_of_a_pending_order_cancels_it(
    auth_client, user, product, mailoutbox, django_capture_on_commit_callbacks
):
    order = place_order(user, [(product, 2)])
    (line,) = items_of(order)
    payment = Payment.objects.get(order=order)

    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client.post(url(order.pk, line.pk), {"reason": "Found it cheaper"})

    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "CANCELLED"
    assert data["items"][0]["status"] == "CANCELLED"
    assert data["total"] == "44.98"  # a cancelled order keeps the amount it had
    assert stock_of(product) == [10]
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CANCELLED
    assert [m.subject for m in mailoutbox] == [f"Your order {order.number} was cancelled"]


def test_cancel_lines_of_a_cod_order(auth_client, user, product, cheap):
    order = place_order(user, [(product, 3), (cheap, 2)], payment_method="cod")  # 59.97 + 9.00, free shipping
    line_product, line_cheap = items_of(order)

    first = auth_client.post(url(order.pk, line_product.pk), {"reason": "too many"})
    assert first.status_code == 200
    # 9.00 left: below the threshold, so the flat rate applies to what is still coming.
    assert (first.json()["subtotal"], first.json()["shipping_total"], first.json()["total"]) == (
        "9.00",
        "5.00",
        "14.00",
    )
    assert first.json()["status"] == "CONFIRMED"
    assert stock_of(product, cheap) == [10, 8]

    second = auth_client.post(url(order.pk, line_cheap.pk), {})
    assert second.status_code == 200
    assert second.json()["status"] == "CANCELLED"
    assert stock_of(product, cheap) == [10, 10]
    assert not Payment.objects.exists()

    third = auth_client.post(url(order.pk, line_cheap.pk), {"reason": "again"})
    assert third.status_code == 409
    assert third.json()["code"] == "invalid_transition"


# --- Paid card orders: partial refunds ------------------------------------------------------------


def test_paid_lines_are_refunded_one_by_one_and_never_more_than_paid(auth_client, user, product, cheap):
    order = pay_order(place_order(user, [(product, 2), (cheap, 1)]))  # paid 49.48
    line_product, line_cheap = items_of(order)
    payment = Payment.objects.get(order=order)

    first = auth_client.post(url(order.pk, line_cheap.pk), {"reason": "Broken on arrival"})

    assert first.status_code == 200, first.json()
    assert first.json()["status"] == "PAID"
    assert first.json()["total"] == "49.48"  # what was paid does not change
    line_cheap.refresh_from_db()
    # localstripe reports the refund `succeeded` synchronously, so the line is REFUNDED at once.
    assert line_cheap.status == ItemStatus.REFUNDED
    assert line_cheap.refunded_amount == Decimal("4.50")
    assert Order.objects.get(pk=order.pk).amount_refunded == Decimal("4.50")
    assert stock_of(product, cheap) == [8, 10]

    second = auth_client.post(url(order.pk, line_product.pk), {"reason": "Not needed"})

    assert second.status_code == 200, second.json()
    assert second.json()["status"] == "REFUNDED"
    fresh = Order.objects.get(pk=order.pk)
    assert fresh.refunded_at is not None
    # The last line also gets the shipping fee back: everything that was paid, not a cent more.
    assert fresh.amount_refunded == fresh.total == Decimal("49.48")
    line_product.refresh_from_db()
    assert line_product.status == ItemStatus.REFUNDED
    assert line_product.refunded_amount == Decimal("39.98")
    refunds = list(Refund.objects.filter(payment=payment).order_by("id"))
    assert [(r.order_item_id, r.amount) for r in refunds] == [
        (line_cheap.pk, Decimal("4.50")),
        (line_product.pk, Decimal("44.98")),
    ]
    assert stripe_refunded_minor([r.stripe_refund_id for r in refunds]) == 4948
    payment.refresh_from_db()
    assert payment.amount_refunded == Decimal("49.48")
    assert stock_of(product, cheap) == [10, 10]

    third = auth_client.post(url(order.pk, line_product.pk), {"reason": "once more"})
    assert third.status_code == 409
    assert Refund.objects.count() == 2
    assert Order.objects.get(pk=order.pk).amount_refunded == Decimal("49.48")


def test_refund_is_capped_by_what_is_left_to_refund(auth_client, user, product, cheap):
    order = pay_order(place_order(user, [(product, 2), (cheap, 1)]))  # paid 49.48
    _, line_cheap = items_of(order)
    # Earlier refunds left only 1.00 refundable (as if refunded elsewhere and synced).
    Order.objects.filter(pk=order.pk).update(amount_refunded=Decimal("48.48"))
    Payment.objects.filter(order=order).update(
        amount_refunded=Decimal("48.48"), status=Payment.Status.PARTIALLY_REFUNDED
    )

    response = auth_client.post(url(order.pk, line_cheap.pk), {"reason": "x"})

    assert response.status_code == 200
    assert Refund.objects.get().amount == Decimal("1.00")
    assert Order.objects.get(pk=order.pk).amount_refunded == Decimal("49.48")


def dashboard_refund(order, amount_minor: int) -> None:
    """A refund made in the Stripe Dashboard, synced the way the `charge.refunded` webhook does."""
    from payments.services import payment_refunds_sync

    payment = Payment.objects.get(order=order, status=Payment.Status.SUCCEEDED)
    refund = gateway.stripe_client().v1.refunds.create(
        params={"payment_intent": payment.payment_intent_id, "amount": amount_minor}
    )
    payment_refunds_sync(
        payment_intent_id=payment.payment_intent_id,
        amount_captured_minor=int(payment.amount_received * 100),
        amount_refunded_minor=amount_minor,
        currency=payment.currency,
        refunds=[{"id": refund.id, "amount": amount_minor, "status": "succeeded"}],
    )


def test_refund_after_a_dashboard_refund_is_capped_by_the_payment(auth_client, user, product, cheap):
    order = pay_order(place_order(user, [(product, 2), (cheap, 1)]))  # paid 49.48
    _, line_cheap = items_of(order)
    dashboard_refund(order, 4848)  # 48.48 already given back outside NovaCart

    response = auth_client.post(url(order.pk, line_cheap.pk), {"reason": "x"})

    assert response.status_code == 200, response.json()
    ours = Refund.objects.get(order_item=line_cheap)
    assert ours.amount == Decimal("1.00")
    payment = Payment.objects.get(order=order, status=Payment.Status.REFUNDED)
    assert payment.amount_refunded == payment.amount_received == Decimal("49.48")


def test_the_last_line_after_the_payment_was_used_up_is_cancelled_not_409(auth_client, user, product, cheap):
    # Our Payment is REFUNDED before Stripe's charge.refunded makes the order so; in that window
    # the last line's cancel found no refundable payment and answered 409 `no_payment`.
    order = pay_order(place_order(user, [(product, 2), (cheap, 1)]))  # paid 49.48
    line_product, line_cheap = items_of(order)
    dashboard_refund(order, 4848)
    assert auth_client.post(url(order.pk, line_cheap.pk), {"reason": "x"}).status_code == 200
    assert Payment.objects.get(order=order).status == Payment.Status.REFUNDED
    assert Order.objects.get(pk=order.pk).status == "PAID"

    response = auth_client.post(url(order.pk, line_product.pk), {"reason": "x"})

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "REFUNDED"
    line_product.refresh_from_db()
    assert line_product.status == ItemStatus.CANCELLED
    assert _stripe_total_refunded_minor(order) == 4948


def test_stripe_error_on_a_line_refund_is_502_and_changes_nothing(
    auth_client, user, product, cheap, settings
):
    order = pay_order(place_order(user, [(product, 2), (cheap, 1)]))
    _, line_cheap = items_of(order)
    before = order_state(order)
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"

    response = auth_client.post(url(order.pk, line_cheap.pk), {"reason": "x"})

    assert response.status_code == 502
    assert response.json()["code"] == "payment_provider_error"
    assert order_state(order) == before
    assert stock_of(product, cheap) == [8, 9]
    assert not Refund.objects.exists()


def _lose_the_next_refund_answer(monkeypatch):
    """Stripe makes the refund, but its answer never arrives (a timeout): the cancel is a 502."""
    real = gateway.create_refund

    def refunded_then_timed_out(**kwargs):
        real(**kwargs)
        monkeypatch.setattr(gateway, "create_refund", real)
        raise PaymentProviderError("Request timed out.")

    monkeypatch.setattr(gateway, "create_refund", refunded_then_timed_out)


def _answer_refunds_pending(monkeypatch):
    """Stripe makes each refund but answers it `pending` (confirmed later by charge.refunded)."""
    real = gateway.create_refund

    def pending_refund(**kwargs):
        refund = real(**kwargs)
        refund.status = "pending"
        return refund

    monkeypatch.setattr(gateway, "create_refund", pending_refund)


def _charge_refunded(order, edit=lambda data: data) -> None:
    """Stripe's `charge.refunded` for the order's payment as its refunds stand on Stripe (each
    listed refund passed through `edit`), synced the way the webhook does."""
    payment = Payment.objects.get(order=order, provider=Payment.Provider.STRIPE)
    listed = [edit(r.to_dict()) for r in gateway.list_refunds(payment.payment_intent_id)]
    payment_refunds_sync(
        payment_intent_id=payment.payment_intent_id,
        amount_captured_minor=int(payment.amount_received * 100),
        amount_refunded_minor=sum(int(data["amount"]) for data in listed),
        currency=payment.currency,
        refunds=listed,
    )


def _stripe_total_refunded_minor(order) -> int:
    payment = Payment.objects.get(order=order, provider=Payment.Provider.STRIPE)
    return sum(int(r.amount) for r in gateway.list_refunds(payment.payment_intent_id))


@pytest.mark.parametrize("webhook_in_between", [False, True], ids=["retry", "charge-refunded-then-retry"])
def test_a_line_cancel_retried_after_a_lost_refund_answer_refunds_the_line_once(
    auth_client, user, product, cheap, monkeypatch, webhook_in_between
):
    # The refund key held what had been refunded so far, so a retry after another line's refund
    # (or after the charge.refunded sync recorded the lost one as a Dashboard refund) made a
    # second refund of the same line.
    third = ProductFactory(price=Decimal("7.00"), stock=5)
    # 39.98 + 4.50 + 7.00 = 51.48, shipping free over 50.00.
    order = pay_order(place_order(user, [(product, 2), (cheap, 1), (third, 1)]))
    line_product, line_cheap, line_third = items_of(order)

    _lose_the_next_refund_answer(monkeypatch)
    assert auth_client.post(url(order.pk, line_cheap.pk), {"reason": "x"}).status_code == 502
    assert _stripe_total_refunded_minor(order) == 450  # Stripe did refund it
    if webhook_in_between:
        _charge_refunded(order)
    assert auth_client.post(url(order.pk, line_third.pk), {"reason": "x"}).status_code == 200

    response = auth_client.post(url(order.pk, line_cheap.pk), {"reason": "x"})

    assert response.status_code == 200, response.json()
    assert _stripe_total_refunded_minor(order) == 450 + 700  # each line once
    line_cheap.refresh_from_db()
    assert line_cheap.refunded_amount == Decimal("4.50")
    assert Refund.objects.get(order_item=line_cheap).amount == Decimal("4.50")
    fresh = Order.objects.get(pk=order.pk)
    payment = Payment.objects.get(order=order)
    assert fresh.amount_refunded == payment.amount_refunded == Decimal("11.50")

    # The last line gets the rest, exactly what was paid in all.
    assert auth_client.post(url(order.pk, line_product.pk), {"reason": "x"}).status_code == 200
    assert _stripe_total_refunded_minor(order) == 5148
    assert Order.objects.get(pk=order.pk).status == "REFUNDED"


@pytest.mark.parametrize("webhook_in_between", [False, True], ids=["retry", "charge-refunded-then-retry"])
def test_a_line_retried_once_it_became_the_last_also_gets_the_shipping_fee_back(
    auth_client, user, product, cheap, monkeypatch, webhook_in_between
):
    # The retry found the line's first refund (its line total) and returned it: the shipping fee
    # the last line owes was never refunded and the REFUNDED order kept 5.00 of the customer's.
    order = pay_order(place_order(user, [(product, 2), (cheap, 1)]))  # 39.98 + 4.50 + 5.00 = 49.48
    line_product, line_cheap = items_of(order)

    _lose_the_next_refund_answer(monkeypatch)
    assert auth_client.post(url(order.pk, line_product.pk), {"reason": "x"}).status_code == 502
    assert _stripe_total_refunded_minor(order) == 3998  # Stripe did refund it
    assert auth_client.post(url(order.pk, line_cheap.pk), {"reason": "x"}).status_code == 200
    if webhook_in_between:
        _charge_refunded(order)

    response = auth_client.post(url(order.pk, line_product.pk), {"reason": "x"})

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "REFUNDED"
    assert _stripe_total_refunded_minor(order) == 4948  # exactly what was paid
    refunds = Refund.objects.filter(order_item=line_product).order_by("amount")
    assert [r.amount for r in refunds] == [Decimal("5.00"), Decimal("39.98")]
    fresh = Order.objects.get(pk=order.pk)
    payment = Payment.objects.get(order=order)
    assert fresh.amount_refunded == payment.amount_refunded == Decimal("49.48")
    assert payment.status == Payment.Status.REFUNDED
    line_product.refresh_from_db()
    assert (line_product.status, line_product.refunded_amount) == (ItemStatus.REFUNDED, Decimal("39.98"))


def test_a_topped_up_line_is_confirmed_once_both_its_refunds_are(
    auth_client, user, product, cheap, monkeypatch
):
    order = pay_order(place_order(user, [(product, 2), (cheap, 1)]))  # paid 49.48
    line_product, line_cheap = items_of(order)
    _lose_the_next_refund_answer(monkeypatch)
    assert auth_client.post(url(order.pk, line_product.pk), {"reason": "x"}).status_code == 502
    assert auth_client.post(url(order.pk, line_cheap.pk), {"reason": "x"}).status_code == 200
    _answer_refunds_pending(monkeypatch)
    assert auth_client.post(url(order.pk, line_product.pk), {"reason": "x"}).status_code == 200
    line_product.refresh_from_db()
    assert line_product.status == ItemStatus.REFUND_REQUESTED  # the 5.00 top-up is pending

    def charge_refunded(top_up_status):
        def with_top_up_status(data):
            return {**data, "status": top_up_status} if data["amount"] == 500 else data

        _charge_refunded(order, with_top_up_status)
        line_product.refresh_from_db()
        return line_product.status

    assert charge_refunded("pending") == ItemStatus.REFUND_REQUESTED  # its 39.98 alone is not enough
    assert charge_refunded("succeeded") == ItemStatus.REFUNDED
    assert line_product.refunded_amount == Decimal("39.98")


def test_a_staff_refund_retried_after_a_lost_answer_refunds_once(
    staff_client, user, product, cheap, monkeypatch
):
    order = pay_order(place_order(user, [(product, 2), (cheap, 1)]))  # paid 49.48
    _lose_the_next_refund_answer(monkeypatch)
    assert staff_client.post(f"/api/orders/{order.pk}/refund/", {"reason": "x"}).status_code == 502
    assert _stripe_total_refunded_minor(order) == 4948

    response = staff_client.post(f"/api/orders/{order.pk}/refund/", {"reason": "x"})

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "REFUNDED"
    assert _stripe_total_refunded_minor(order) == 4948
    assert Payment.objects.get(order=order).amount_refunded == Decimal("49.48")
    assert Refund.objects.get().amount == Decimal("49.48")


def test_a_staff_refund_named_the_old_way_is_found_on_a_retry(staff_client, user, product, cheap):
    # Staff refunds were named `order-<minor units refunded before>` until the top-up naming; a
    # refund made that way whose answer was lost is still found after the deploy.
    order = pay_order(place_order(user, [(product, 2), (cheap, 1)]))  # paid 49.48
    payment = Payment.objects.get(order=order)
    gateway.stripe_client().v1.refunds.create(
        params={
            "payment_intent": payment.payment_intent_id,
            "amount": 4948,
            "metadata": {"order_id": str(order.pk), "line": "order-0"},
        }
    )

    response = staff_client.post(f"/api/orders/{order.pk}/refund/", {"reason": "x"})

    assert response.status_code == 200, response.json()
    assert _stripe_total_refunded_minor(order) == 4948
    assert Refund.objects.get().amount == Decimal("49.48")


def test_a_retry_records_the_status_stripe_has_now(user, product, cheap, monkeypatch):
    # The first refund was recorded pending (by charge.refunded) and has since succeeded: the
    # retried cancel takes Stripe's status, so the line is REFUNDED, not left waiting.
    order = pay_order(place_order(user, [(product, 2), (cheap, 1)]))
    _, line_cheap = items_of(order)
    _lose_the_next_refund_answer(monkeypatch)
    with pytest.raises(PaymentProviderError):
        services.order_item_cancel(order_id=order.pk, item_id=line_cheap.pk, user=user, reason="x")
    _charge_refunded(order, lambda data: {**data, "status": "pending"})
    assert Refund.objects.get().status == Refund.Status.PENDING

    services.order_item_cancel(order_id=order.pk, item_id=line_cheap.pk, user=user, reason="x")

    line_cheap.refresh_from_db()
    assert line_cheap.status == ItemStatus.REFUNDED
    assert Refund.objects.get().status == Refund.Status.SUCCEEDED


def test_pending_refund_waits_for_stripe_then_settles(user, product, cheap, monkeypatch):
    """When Stripe answers a refund `pending`, the line is REFUND_REQUESTED until the webhook
    (through `order_item_mark_refunded`) confirms it."""
    order = pay_order(place_order(user, [(product, 2), (cheap, 1)]))
    line_product, line_cheap = items_of(order)
    _answer_refunds_pending(monkeypatch)

    services.order_item_cancel(order_id=order.pk, item_id=line_cheap.pk, user=user, reason="late")
    line_cheap.refresh_from_db()
    assert line_cheap.status == ItemStatus.REFUND_REQUESTED
    assert line_cheap.refunded_amount == Decimal("4.50")
    assert Order.objects.get(pk=order.pk).status == "PAID"

    item = services.order_item_mark_refunded(order_item_id=line_cheap.pk, amount=Decimal("4.50"))
    assert item.status == ItemStatus.REFUNDED
    assert (
        services.order_item_mark_refunded(order_item_id=line_cheap.pk, amount=Decimal("4.50")).pk == item.pk
    )

    services.order_item_cancel(order_id=order.pk, item_id=line_product.pk, user=user, reason="late")
    # No line is active any more: the order is REFUNDED already while Stripe confirms.
    assert Order.objects.get(pk=order.pk).status == "REFUNDED"
    line_product.refresh_from_db()
    assert line_product.status == ItemStatus.REFUND_REQUESTED
    services.order_item_mark_refunded(order_item_id=line_product.pk, amount=Decimal("44.98"))
    line_product.refresh_from_db()
    assert line_product.status == ItemStatus.REFUNDED


def test_item_mark_refunded_refuses_a_line_without_a_refund(user, product):
    from core.exceptions import InvalidTransition, NotFound

    order = place_order(user, [(product, 1)])
    (line,) = items_of(order)
    with pytest.raises(InvalidTransition):
        services.order_item_mark_refunded(order_item_id=line.pk, amount=Decimal("1.00"))
    with pytest.raises(NotFound):
        services.order_item_mark_refunded(order_item_id=999999, amount=Decimal("1.00"))


# --- Refusals -------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["SHIPPED", "DELIVERED", "CANCELLED", "REFUNDED"])
def test_lines_of_closed_or_shipped_orders_cannot_be_cancelled(auth_client, user, product, status):
    order = place_order(user, [(product, 2)], payment_method="cod")
    Order.objects.filter(pk=order.pk).update(status=status)
    (line,) = items_of(order)
    before = order_state(order)

    response = auth_client.post(url(order.pk, line.pk), {"reason": "x"})

    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    assert order_state(order) == before
    assert stock_of(product) == [8]


def test_another_users_order_or_line_is_404(auth_client, other_client, user, other_user, product):
    order = place_order(user, [(product, 1)], payment_method="cod")
    foreign = place_order(other_user, [(product, 1)], payment_method="cod")
    (line,) = items_of(order)
    (foreign_line,) = items_of(foreign)
    before = order_state(order)

    assert other_client.post(url(order.pk, line.pk), {"reason": "x"}).status_code == 404
    # The caller's order with a line of another order: not found either.
    assert auth_client.post(url(order.pk, foreign_line.pk), {"reason": "x"}).status_code == 404
    assert auth_client.post(url(order.pk, 2**64), {"reason": "x"}).status_code == 404
    assert order_state(order) == before
    assert order_state(foreign)["items"][0]["status"] == "ACTIVE"


def test_reason_is_validated(auth_client, user, product):
    order = place_order(user, [(product, 1)], payment_method="cod")
    (line,) = items_of(order)
    response = auth_client.post(url(order.pk, line.pk), {"reason": "x" * 501})
    assert response.status_code == 400
    assert "reason" in response.json()


def test_item_cancel_needs_authentication(api_client, user, product):
    order = place_order(user, [(product, 1)], payment_method="cod")
    (line,) = items_of(order)
    assert api_client.post(url(order.pk, line.pk), {}).status_code == 401
