from decimal import Decimal

import pytest

from addresses.tests.factories import AddressFactory
from cart.models import CartItem
from cart.tests.factories import CartFactory, CartItemFactory
from orders import services
from orders.models import Order
from payments import gateway
from payments.models import Payment
from payments.services import payment_mark_succeeded
from products.models import Product, ProductVariant
from products.tests.factories import ProductFactory
from products.tests.stock_helpers import stock_consistent


@pytest.fixture(autouse=True)
def _shop_settings(settings):
    """The shipping rule every test here assumes (explicit, so an env override cannot skew totals)."""
    settings.CURRENCY = "usd"
    settings.SHIPPING_FLAT_RATE = Decimal("5.00")
    settings.FREE_SHIPPING_THRESHOLD = Decimal("50.00")
    settings.ORDER_PENDING_TTL_MINUTES = 30
    settings.DELIVERY_ESTIMATE_DAYS = 5
    # Users are made in almost every test here; their password hash is beside the point.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def address(user):
    return AddressFactory(user=user)


@pytest.fixture
def other_address(other_user):
    return AddressFactory(user=other_user)


def fill_cart(user, lines) -> None:
    """Put `(product or variant, quantity)` lines into the user's cart directly (no stock check:
    tests need carts that ask for more than there is). A product means its first variant."""
    cart = CartFactory(user=user)
    for target, quantity in lines:
        if isinstance(target, ProductVariant):
            CartItemFactory(cart=cart, product=target.product, variant=target, quantity=quantity)
        else:
            CartItemFactory(cart=cart, product=target, quantity=quantity)


def cart_lines(user) -> list[tuple[int, int]]:
    return sorted(CartItem.objects.filter(cart__user=user).values_list("product_id", "quantity"))


def stock_of(*products) -> list[int]:
    """The products' stored stock, each checked against its variants (the summed active stock)."""
    for p in products:
        assert stock_consistent(p), f"{p} stock drifted from its variants"
    return [Product.objects.get(pk=p.pk).stock for p in products]


def place_order(user, lines, *, payment_method: str = "card", address=None) -> Order:
    """Fill the cart with `lines` and check out through the service."""
    fill_cart(user, lines)
    address = address or AddressFactory(user=user)
    result = services.order_create_from_cart(
        user=user, shipping_address_id=address.pk, payment_method=payment_method
    )
    return result.order


def pay_order(order: Order) -> Order:
    """Pay the order's open PaymentIntent on the fake Stripe as a browser would, then settle it the
    way the `payment_intent.succeeded` webhook does (payments' service, which calls order_mark_paid)."""
    payment = Payment.objects.get(
        order=order, provider=Payment.Provider.STRIPE, status=Payment.Status.REQUIRES_PAYMENT
    )
    client = gateway.stripe_client()
    client.v1.payment_intents.update(payment.payment_intent_id, params={"payment_method": "pm_card_visa"})
    intent = client.v1.payment_intents.confirm(payment.payment_intent_id)
    assert intent.status == "succeeded"
    payment_mark_succeeded(
        payment_intent_id=payment.payment_intent_id,
        amount_received_minor=int(intent.amount),
        currency=intent.currency,
        order_id=str(order.pk),
    )
    order = Order.objects.get(pk=order.pk)
    assert order.status == "PAID"
    return order


@pytest.fixture
def product(db):
    return ProductFactory(price=Decimal("19.99"), stock=10)


@pytest.fixture
def cheap(db):
    return ProductFactory(price=Decimal("4.50"), stock=10)


def order_state(order: Order) -> dict:
    """Everything about an order a refused operation must leave alone."""
    fresh = Order.objects.get(pk=order.pk)
    return {
        "order": {f.attname: getattr(fresh, f.attname) for f in Order._meta.concrete_fields},
        "items": list(fresh.items.order_by("id").values()),
        "events": fresh.events.count(),
        "payments": list(Payment.objects.filter(order=fresh).order_by("id").values()),
    }
