"""Checkout with a coupon: discounted order, redemption in the order's transaction, 409 when the
coupon stopped qualifying (nothing written), redemption given back on cancel and expiry."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from cart.models import Cart
from conftest import client_for, run_together
from orders import services
from orders.models import Order
from payments.models import Payment
from products.tests.factories import ProductFactory
from promotions.models import Promotion, Redemption
from promotions.tests.factories import PromotionFactory
from users.tests.factories import UserFactory

from .conftest import fill_cart

URL = "/api/orders/create/"


def _with_coupon(user, promotion):
    Cart.objects.filter(user=user).update(promotion=promotion)


def _checkout(client, address, method="card"):
    return client.post(URL, {"shipping_address_id": address.pk, "payment_method": method}, format="json")


@pytest.mark.django_db
def test_card_order_with_a_coupon(auth_client, user, address):
    promotion = PromotionFactory(code="Third", kind="percentage", value=Decimal("33.33"))
    products = [ProductFactory(price=Decimal(p), stock=5) for p in ("0.99", "1.99", "2.99")]
    fill_cart(user, [(p, 1) for p in products])
    _with_coupon(user, promotion)
    response = _checkout(auth_client, address)
    assert response.status_code == 201, response.content
    order = response.json()["order"]
    assert order["subtotal"] == "5.97"
    assert order["discount_total"] == "1.99"
    assert order["coupon_code"] == "Third"
    assert [i["discount"] for i in order["items"]] == ["0.33", "0.66", "1.00"]
    assert order["shipping_total"] == "5.00"
    assert order["total"] == "8.98"  # 5.97 - 1.99 + 5.00
    assert response.json()["payment"]["amount"] == 898
    assert Payment.objects.get(order_id=order["id"]).amount == Decimal("8.98")
    promotion.refresh_from_db()
    assert promotion.times_used == 1
    assert Redemption.objects.get(order_id=order["id"]).amount == Decimal("1.99")
    assert Cart.objects.get(user=user).promotion_id is None  # a successful order clears the coupon


@pytest.mark.django_db
def test_free_shipping_is_judged_after_the_discount(auth_client, user, address):
    promotion = PromotionFactory(code="TEN", kind="fixed", value=Decimal("10.00"))
    fill_cart(user, [(ProductFactory(price=Decimal("55.00"), stock=5), 1)])
    _with_coupon(user, promotion)
    order = _checkout(auth_client, address, "cod").json()["order"]
    assert (order["subtotal"], order["discount_total"], order["shipping_total"], order["total"]) == (
        "55.00",
        "10.00",
        "5.00",
        "50.00",
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"ends_at": timezone.now() - timedelta(seconds=1)}, "coupon_invalid"),
        ({"is_active": False}, "coupon_invalid"),
        ({"usage_limit": 1, "times_used": 1}, "coupon_exhausted"),
        ({"min_subtotal": Decimal("1000")}, "coupon_not_applicable"),
    ],
)
def test_a_coupon_that_stopped_qualifying_is_409_and_writes_nothing(auth_client, user, address, change, code):
    promotion = PromotionFactory(code="GONE")
    product = ProductFactory(price=Decimal("20.00"), stock=5)
    fill_cart(user, [(product, 2)])
    _with_coupon(user, promotion)
    Promotion.objects.filter(pk=promotion.pk).update(**change)
    response = _checkout(auth_client, address)
    assert response.status_code == 409
    assert response.json()["code"] == code and response.json()["detail"]
    assert Order.objects.count() == 0 and Payment.objects.count() == 0 and Redemption.objects.count() == 0
    product.refresh_from_db()
    assert product.stock == 5
    cart = auth_client.get("/api/cart/").json()
    assert cart["coupon"]["applicable"] is False and cart["coupon"]["reason_code"] == code
    assert len(cart["items"]) == 1


@pytest.mark.django_db
def test_per_user_limit_at_checkout(auth_client, user, address):
    promotion = PromotionFactory(code="ONCE", usage_limit_per_user=1)
    fill_cart(user, [(ProductFactory(price=Decimal("20.00"), stock=5), 1)])
    _with_coupon(user, promotion)
    assert _checkout(auth_client, address, "cod").status_code == 201
    fill_cart(user, [(ProductFactory(price=Decimal("20.00"), stock=5), 1)])
    _with_coupon(user, promotion)
    response = _checkout(auth_client, address, "cod")
    assert response.status_code == 409 and response.json()["code"] == "coupon_exhausted"
    assert Order.objects.count() == 1


@pytest.mark.django_db
def test_cancel_gives_the_redemption_back(auth_client, user, address):
    promotion = PromotionFactory(code="BACK", usage_limit=1)
    fill_cart(user, [(ProductFactory(price=Decimal("20.00"), stock=5), 1)])
    _with_coupon(user, promotion)
    order = _checkout(auth_client, address).json()["order"]
    promotion.refresh_from_db()
    assert promotion.times_used == 1
    assert auth_client.post(f"/api/orders/cancel/{order['id']}/").status_code == 200
    promotion.refresh_from_db()
    assert promotion.times_used == 0
    assert not Redemption.objects.exists()
    cart = auth_client.get("/api/cart/").json()
    assert cart["coupon"]["code"] == "BACK" and cart["coupon"]["applicable"] is True


@pytest.mark.django_db
def test_expiry_gives_the_redemption_back(user, address):
    promotion = PromotionFactory(code="EXP", usage_limit=1)
    fill_cart(user, [(ProductFactory(price=Decimal("20.00"), stock=5), 1)])
    _with_coupon(user, promotion)
    order = services.order_create_from_cart(
        user=user, shipping_address_id=address.pk, payment_method="card"
    ).order
    assert services.order_expire_pending(now=order.expires_at + timedelta(seconds=1)) == 1
    promotion.refresh_from_db()
    assert promotion.times_used == 0 and not Redemption.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_checkouts_against_a_limit_of_three():
    from addresses.tests.factories import AddressFactory

    promotion = PromotionFactory(code="RACE", usage_limit=3, kind="fixed", value=Decimal("5.00"))
    product = ProductFactory(price=Decimal("20.00"), stock=100)
    buyers = []
    for _ in range(10):
        buyer = UserFactory()
        fill_cart(buyer, [(product, 1)])
        _with_coupon(buyer, promotion)
        buyers.append((buyer, AddressFactory(user=buyer)))

    def work(i):
        buyer, address = buyers[i]
        response = _checkout(client_for(buyer), address, "card" if i % 2 else "cod")
        return response.status_code, response.json()

    results = run_together(10, work, wait=30, join=120)
    statuses = sorted(status for status, _ in results)
    assert statuses == [201] * 3 + [409] * 7, results
    assert {body["code"] for status, body in results if status == 409} == {"coupon_exhausted"}
    promotion.refresh_from_db()
    assert promotion.times_used == 3
    assert Redemption.objects.filter(promotion=promotion).count() == 3
    assert Order.objects.filter(coupon_code="RACE").count() == Order.objects.count() == 3
    product.refresh_from_db()
    assert product.stock == 97


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_customer_racing_against_a_per_user_limit_of_one():
    """Four redemptions of one customer at once, each in its own order's transaction (the cart
    lock already serialises one customer's checkouts; this takes it out of the way)."""
    from django.db import transaction

    from promotions import services as promotion_services

    promotion = PromotionFactory(code="SOLO", usage_limit_per_user=1)
    buyer = UserFactory()
    orders = [
        Order.objects.create(number=f"NC-SOLO-{n}", user=buyer, subtotal=10, total=10, currency="usd")
        for n in range(4)
    ]

    def work(i):
        with transaction.atomic():
            return promotion_services.promotion_redeem(
                promotion_id=promotion.pk, user=buyer, order=orders[i], amount=Decimal("1.00")
            )

    results = run_together(4, work, wait=30, join=120)
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(refused) == 3 and {r.code for r in refused} == {"coupon_exhausted"}, results
    assert Redemption.objects.filter(promotion=promotion, user=buyer).count() == 1
    promotion.refresh_from_db()
    assert promotion.times_used == 1
