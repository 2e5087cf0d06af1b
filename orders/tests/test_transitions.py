import itertools

import pytest

from core.exceptions import InvalidTransition
from orders import services
from orders.models import Order, OrderEvent, OrderStatus

from .conftest import order_state, place_order

ALLOWED = {
    ("PENDING", "PAID"),
    ("PENDING", "CANCELLED"),
    ("CONFIRMED", "SHIPPED"),
    ("CONFIRMED", "CANCELLED"),
    ("PAID", "SHIPPED"),
    ("PAID", "REFUNDED"),
    ("SHIPPED", "DELIVERED"),
}
ALL_PAIRS = list(itertools.product(OrderStatus.values, OrderStatus.values))
STAMPS = {
    "PAID": "paid_at",
    "SHIPPED": "shipped_at",
    "DELIVERED": "delivered_at",
    "CANCELLED": "cancelled_at",
    "REFUNDED": "refunded_at",
}


def test_the_table_is_exactly_the_contract():
    table = {(src, dst) for src, targets in services.TRANSITIONS.items() for dst in targets}
    assert table == ALLOWED


@pytest.fixture
def order_in(user, product):
    def make(status: str) -> Order:
        order = place_order(user, [(product, 1)], payment_method="cod")
        Order.objects.filter(pk=order.pk).update(status=status)
        return Order.objects.get(pk=order.pk)

    return make


@pytest.mark.parametrize(("src", "dst"), [pair for pair in ALL_PAIRS if pair not in ALLOWED])
def test_every_forbidden_transition_is_refused_and_changes_nothing(order_in, src, dst):
    order = order_in(src)
    before = order_state(order)

    with pytest.raises(InvalidTransition) as exc:
        services.order_transition(order_id=order.pk, to_status=dst)

    assert exc.value.status_code == 409
    assert exc.value.code == "invalid_transition"
    assert order_state(order) == before


@pytest.mark.parametrize(("src", "dst"), sorted(ALLOWED))
def test_every_allowed_transition_stamps_and_records_an_event(order_in, staff_user, src, dst):
    order = order_in(src)

    moved = services.order_transition(order_id=order.pk, to_status=dst, actor=staff_user, note="by hand")

    fresh = Order.objects.get(pk=order.pk)
    assert moved.status == fresh.status == dst
    assert getattr(fresh, STAMPS[dst]) is not None
    event = OrderEvent.objects.filter(order=order).latest("id")
    assert (event.from_status, event.status, event.note, event.actor) == (src, dst, "by hand", staff_user)


def test_transition_can_set_tracking_but_nothing_arbitrary(order_in):
    order = order_in("PAID")
    with pytest.raises(ValueError):
        services.order_transition(order_id=order.pk, to_status="SHIPPED", total="0.00")
    assert Order.objects.get(pk=order.pk).status == "PAID"

    services.order_transition(order_id=order.pk, to_status="SHIPPED", tracking_number="T1", carrier="UPS")
    fresh = Order.objects.get(pk=order.pk)
    assert (fresh.tracking_number, fresh.carrier) == ("T1", "UPS")


def test_missing_order_is_not_found(db):
    from core.exceptions import NotFound

    with pytest.raises(NotFound):
        services.order_transition(order_id=999999, to_status="PAID")


def test_event_record_keeps_the_status(order_in):
    order = order_in("PENDING")
    event = services.order_event_record(order_id=order.pk, note="Card payment failed: declined")
    assert (event.from_status, event.status) == ("PENDING", "PENDING")
    assert Order.objects.get(pk=order.pk).status == "PENDING"
