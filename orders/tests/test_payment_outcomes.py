"""The services the payments webhook calls: paid, refunded outside our API, events."""

from decimal import Decimal

import pytest

from core.exceptions import InvalidTransition, NotFound
from orders import services
from orders.models import ItemStatus, Order

from .conftest import order_state, pay_order, place_order, stock_of


def test_mark_paid_sends_one_confirmation(user, product, mailoutbox, django_capture_on_commit_callbacks):
    order = place_order(user, [(product, 2)])

    with django_capture_on_commit_callbacks(execute=True):
        paid = services.order_mark_paid(order_id=order.pk, note="pi_123 succeeded")
    with django_capture_on_commit_callbacks(execute=True):
        again = services.order_mark_paid(order_id=order.pk, note="second delivery")

    assert paid.status == again.status == "PAID"
    assert paid.paid_at is not None
    assert Order.objects.get(pk=order.pk).events.filter(status="PAID").count() == 1
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == [user.email]
    assert order.number in mail.subject
    assert product.name in mail.body and "39.98" in mail.body
    assert product.name in mail.alternatives[0][0]


@pytest.mark.parametrize("status", ["CONFIRMED", "CANCELLED", "SHIPPED", "REFUNDED"])
def test_mark_paid_refuses_other_statuses(
    user, product, status, mailoutbox, django_capture_on_commit_callbacks
):
    order = place_order(user, [(product, 1)])
    Order.objects.filter(pk=order.pk).update(status=status)
    before = order_state(order)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(InvalidTransition):
        services.order_mark_paid(order_id=order.pk)
    assert order_state(order) == before
    assert mailoutbox == []


def test_no_confirmation_for_a_rolled_back_payment(
    user, product, mailoutbox, django_capture_on_commit_callbacks
):
    from django.db import transaction

    order = place_order(user, [(product, 1)])
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        services.order_mark_paid(order_id=order.pk)
        raise RuntimeError("the webhook failed after marking the order paid")
    assert callbacks == []
    assert mailoutbox == []
    assert Order.objects.get(pk=order.pk).status == "PENDING"


def test_mark_refunded_from_outside_releases_active_stock(user, product, cheap):
    order = pay_order(place_order(user, [(product, 2), (cheap, 1)]))

    refunded = services.order_mark_refunded(order_id=order.pk, note="Refunded on the Stripe dashboard.")

    assert refunded.status == "REFUNDED" and refunded.refunded_at is not None
    assert refunded.amount_refunded == refunded.total == Decimal("49.48")
    assert set(refunded.items.values_list("status", flat=True)) == {ItemStatus.REFUNDED}
    assert stock_of(product, cheap) == [10, 10]

    # A second notification changes nothing (stock released once).
    services.order_mark_refunded(order_id=order.pk)
    assert stock_of(product, cheap) == [10, 10]
    assert refunded.events.filter(status="REFUNDED").count() == 1


@pytest.mark.parametrize("status", ["PENDING", "CONFIRMED", "SHIPPED", "DELIVERED", "CANCELLED"])
def test_mark_refunded_refuses_other_statuses(user, product, status):
    order = place_order(user, [(product, 1)])
    Order.objects.filter(pk=order.pk).update(status=status)
    before = order_state(order)
    with pytest.raises(InvalidTransition):
        services.order_mark_refunded(order_id=order.pk)
    assert order_state(order) == before


def test_event_record_for_a_missing_order(db):
    with pytest.raises(NotFound):
        services.order_event_record(order_id=424242, note="x")


def test_get_for_update_locks_and_finds(user, product):
    from orders.selectors import order_get_for_update

    order = place_order(user, [(product, 1)])
    assert order_get_for_update(order_id=order.pk).pk == order.pk
    with pytest.raises(NotFound):
        order_get_for_update(order_id=order.pk + 1000)
