"""One hand-made successful request per operation of the schema, checked like the fuzzed ones.

Random requests rarely succeed on operations that need a whole valid state (an order from a full
cart, a password reset with a live token, a signed webhook), so the fuzzer alone would leave their
success bodies unchecked. Here every operation gets one request that must succeed, and its
response must pass the same checks (documented status and content type, body matching the schema).
`test_every_operation_has_a_success_case` fails when an operation is added to the API without a
row here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from schemathesis.core import NOT_SET

from payments.tests.conftest import sign
from users.tests.factories import DEFAULT_PASSWORD

from ._schema import CHECKS, OPERATIONS, SCHEMA, call_and_check
from .conftest import ADDRESS, World, bearer, first_item_id

Build = Callable[[World], object]


@dataclass(frozen=True)
class Call:
    role: str  # "anonymous", "customer" or "staff"
    status: int = 200
    path: Build = field(default=lambda w: {})
    body: Build | None = None
    query: Build = field(default=lambda w: {})
    # Objects to create before the call (e.g. a cart line for a checkout).
    setup: Build = field(default=lambda w: None)


PRODUCT = {"name": "Lamp", "sku": "SKU-LAMP", "price": "9.99", "stock": 5}
WEBHOOK_EVENT = {
    "id": "evt_reliability",
    "object": "event",
    "type": "customer.created",
    "data": {"object": {}},
}

CALLS: dict[str, Call] = {
    # Accounts
    "POST /api/register/": Call(
        "anonymous", 201, body=lambda w: {"email": "new.user@example.com", "password": "Str0ng-enough-pass!"}
    ),
    "POST /api/token/": Call(
        "anonymous", body=lambda w: {"email": w.customer.email, "password": DEFAULT_PASSWORD}
    ),
    "POST /api/token/refresh/": Call("anonymous", body=lambda w: {"refresh": w.refresh_token}),
    "POST /api/token/verify/": Call("anonymous", body=lambda w: {"token": w.refresh_token}),
    "POST /api/token/blacklist/": Call("anonymous", body=lambda w: {"refresh": w.refresh_token}),
    "GET /api/me/": Call("customer"),
    "PATCH /api/me/": Call("customer", body=lambda w: {"first_name": "Grace"}),
    "GET /api/whoami/": Call("customer"),
    "PATCH /api/whoami/": Call("customer", body=lambda w: {"last_name": "Hopper"}),
    "POST /api/me/password/": Call(
        "customer",
        204,
        body=lambda w: {"old_password": DEFAULT_PASSWORD, "new_password": "An0ther-strong-pass!"},
    ),
    "POST /api/password-reset/": Call("anonymous", body=lambda w: {"email": w.customer.email}),
    "POST /api/password-reset/confirm/": Call(
        "anonymous", body=lambda w: {"token": w.reset_token, "password": "Brand-new-pass-42!"}
    ),
    # Catalog and wishlist
    "GET /api/products/": Call(
        "anonymous", setup=lambda w: w.product, query=lambda w: {"ordering": "-price"}
    ),
    "POST /api/products/": Call("staff", 201, body=lambda w: {**PRODUCT, "category_id": w.category.pk}),
    "GET /api/products/{id}/": Call("anonymous", path=lambda w: {"id": w.product.pk}),
    "PUT /api/products/{id}/": Call("staff", path=lambda w: {"id": w.product.pk}, body=lambda w: PRODUCT),
    "PATCH /api/products/{id}/": Call(
        "staff", path=lambda w: {"id": w.product.pk}, body=lambda w: {"stock": 7}
    ),
    "DELETE /api/products/{id}/": Call("staff", 204, path=lambda w: {"id": w.product.pk}),
    "GET /api/products/brands/": Call("anonymous", setup=lambda w: w.product),
    "GET /api/products/price-range/": Call("anonymous", setup=lambda w: w.product),
    "GET /api/products/options/": Call("anonymous", setup=lambda w: w.product),
    "POST /api/products/{id}/variants/": Call(
        "staff",
        201,
        path=lambda w: {"id": w.product.pk},
        body=lambda w: {"sku": "SKU-LAMP-XL", "options": {"Size": "XL"}, "stock": 2},
    ),
    "PATCH /api/products/{id}/variants/{variant_id}/": Call(
        "staff",
        path=lambda w: {"id": w.product.pk, "variant_id": w.product.variants.first().pk},
        body=lambda w: {"stock": 3},
    ),
    "DELETE /api/products/{id}/variants/{variant_id}/": Call(
        "staff",
        204,
        path=lambda w: {
            "id": w.product.pk,
            "variant_id": w.product.variants.create(
                sku="SKU-GONE", options={"Size": "S"}, price=1, stock=0
            ).pk,
        },
    ),
    "GET /api/categories/": Call("anonymous", setup=lambda w: w.category),
    "POST /api/categories/": Call("staff", 201, body=lambda w: {"name": "Lighting", "parent": w.category.pk}),
    "GET /api/categories/{id}/": Call("anonymous", path=lambda w: {"id": w.category.pk}),
    "PUT /api/categories/{id}/": Call(
        "staff", path=lambda w: {"id": w.category.pk}, body=lambda w: {"name": "Lamps"}
    ),
    "PATCH /api/categories/{id}/": Call(
        "staff", path=lambda w: {"id": w.category.pk}, body=lambda w: {"is_active": False}
    ),
    "DELETE /api/categories/{id}/": Call("staff", 204, path=lambda w: {"id": w.category.pk}),
    "GET /api/products/wishlist/": Call("customer", setup=lambda w: w.wishlist_item),
    "POST /api/products/wishlist/": Call("customer", 201, body=lambda w: {"product_id": w.product.pk}),
    "DELETE /api/products/wishlist/{id}/": Call("customer", 204, path=lambda w: {"id": w.wishlist_item.pk}),
    # Cart
    "GET /api/cart/": Call("customer", setup=lambda w: w.cart_item),
    "POST /api/cart/add/": Call("customer", 201, body=lambda w: {"product_id": w.product.pk, "quantity": 2}),
    "PATCH /api/cart/update/{item_id}/": Call(
        "customer", path=lambda w: {"item_id": w.cart_item.pk}, body=lambda w: {"quantity": 3}
    ),
    "DELETE /api/cart/remove/{item_id}/": Call("customer", path=lambda w: {"item_id": w.cart_item.pk}),
    "DELETE /api/cart/clear/": Call("customer", setup=lambda w: w.cart_item),
    "POST /api/cart/bulk-remove/": Call("customer", body=lambda w: {"item_ids": [w.cart_item.pk]}),
    "POST /api/cart/bulk-move-to-wishlist/": Call("customer", body=lambda w: {"item_ids": [w.cart_item.pk]}),
    "POST /api/cart/coupon/": Call(
        "customer", setup=lambda w: w.cart_item, body=lambda w: {"code": w.promotion.code.lower()}
    ),
    "DELETE /api/cart/coupon/": Call("customer", setup=lambda w: w.cart_item),
    # Promotions (staff)
    "GET /api/promotions/": Call("staff", setup=lambda w: w.promotion),
    "POST /api/promotions/": Call(
        "staff", 201, body=lambda w: {"code": "NEW5", "kind": "fixed", "value": "5.00", "category_ids": []}
    ),
    "GET /api/promotions/{id}/": Call("staff", path=lambda w: {"id": w.promotion.pk}),
    "PATCH /api/promotions/{id}/": Call(
        "staff", path=lambda w: {"id": w.promotion.pk}, body=lambda w: {"value": "15"}
    ),
    "DELETE /api/promotions/{id}/": Call("staff", 204, path=lambda w: {"id": w.promotion.pk}),
    # Addresses
    "GET /api/addresses/": Call("customer", setup=lambda w: w.second_address),
    "POST /api/addresses/": Call("customer", 201, body=lambda w: ADDRESS),
    "GET /api/addresses/{id}/": Call("customer", path=lambda w: {"id": w.address.pk}),
    "PUT /api/addresses/{id}/": Call("customer", path=lambda w: {"id": w.address.pk}, body=lambda w: ADDRESS),
    "PATCH /api/addresses/{id}/": Call(
        "customer", path=lambda w: {"id": w.address.pk}, body=lambda w: {"city": "Paris"}
    ),
    "DELETE /api/addresses/{id}/": Call("customer", 204, path=lambda w: {"id": w.address.pk}),
    "POST /api/addresses/{id}/set-default/": Call("customer", path=lambda w: {"id": w.second_address.pk}),
    "GET /api/addresses/pincode/": Call("anonymous", query=lambda w: {"pincode": "62701"}),
    # Orders and payments
    "POST /api/orders/create/": Call(
        "customer",
        201,
        setup=lambda w: w.cart_item,
        body=lambda w: {"shipping_address_id": w.address.pk, "payment_method": "card"},
    ),
    "GET /api/orders/my/": Call("customer", setup=lambda w: (w.cod_order, w.paid_order)),
    "GET /api/orders/latest/": Call("customer", setup=lambda w: w.card_order),
    "GET /api/orders/{id}/": Call("customer", path=lambda w: {"id": w.paid_order.pk}),
    "POST /api/orders/{id}/items/{item_id}/cancel/": Call(
        "customer",
        path=lambda w: {"id": w.paid_order.pk, "item_id": first_item_id(w.paid_order)},
        body=lambda w: {"reason": "Ordered twice"},
    ),
    "POST /api/orders/cancel/{id}/": Call("customer", path=lambda w: {"id": w.card_order.pk}),
    "POST /api/orders/{id}/ship/": Call(
        "staff",
        path=lambda w: {"id": w.cod_order.pk},
        body=lambda w: {"tracking_number": "1Z999", "carrier": "UPS"},
    ),
    "POST /api/orders/{id}/deliver/": Call("staff", path=lambda w: {"id": w.shipped_order.pk}),
    "POST /api/orders/{id}/refund/": Call("staff", path=lambda w: {"id": w.paid_order.pk}, body=lambda w: {}),
    "POST /api/payments/payment-intent/": Call("customer", body=lambda w: {"order_id": w.card_order.pk}),
    "POST /api/payments/webhook/": Call("anonymous", body=lambda w: WEBHOOK_EVENT),
    "GET /api/health/": Call("anonymous"),
    # The storefront profile (/api/web/)
    "POST /api/web/register/": Call(
        "anonymous", 201, body=lambda w: {"email": "new.user@example.com", "password": "Str0ng-enough-pass!"}
    ),
    "POST /api/web/token/": Call(
        "anonymous", body=lambda w: {"username": w.customer.email, "password": DEFAULT_PASSWORD}
    ),
    "POST /api/web/token/refresh/": Call("anonymous", body=lambda w: {"refresh": w.refresh_token}),
    "POST /api/web/password-reset/": Call("anonymous", body=lambda w: {"email": w.customer.email}),
    "POST /api/web/password-reset/confirm/": Call(
        "anonymous", body=lambda w: {"token": w.reset_token, "password": "Brand-new-pass-42!"}
    ),
    "GET /api/web/whoami/": Call("customer"),
    "GET /api/web/my/dashboard/": Call("customer"),
    "GET /api/web/categories/": Call("anonymous", setup=lambda w: w.category),
    "GET /api/web/products/": Call("anonymous", setup=lambda w: w.product, query=lambda w: {"sort": "price"}),
    "GET /api/web/products/{id}/": Call("anonymous", path=lambda w: {"id": w.product.pk}),
    "GET /api/web/products/brands/": Call("anonymous", setup=lambda w: w.product),
    "GET /api/web/products/price-range/": Call("anonymous", setup=lambda w: w.product),
    "GET /api/web/products/wishlist/": Call("customer", setup=lambda w: w.wishlist_item),
    "POST /api/web/products/wishlist/": Call("customer", 201, body=lambda w: {"book_id": w.product.pk}),
    "DELETE /api/web/products/wishlist/{id}/": Call(
        "customer", 204, path=lambda w: {"id": w.wishlist_item.pk}
    ),
    "GET /api/web/cart/": Call("customer", setup=lambda w: w.cart_item),
    "POST /api/web/cart/add/": Call("customer", 201, body=lambda w: {"book_id": w.product.pk}),
    "PATCH /api/web/cart/update/{id}/": Call(
        "customer", path=lambda w: {"id": w.cart_item.pk}, body=lambda w: {"action": "increase"}
    ),
    "DELETE /api/web/cart/remove/{id}/": Call("customer", path=lambda w: {"id": w.cart_item.pk}),
    "POST /api/web/cart/bulk-delete/": Call("customer", body=lambda w: {"cart_ids": [w.cart_item.pk]}),
    "POST /api/web/cart/bulk-move-to-wishlist/": Call(
        "customer", body=lambda w: {"cart_ids": [w.cart_item.pk]}
    ),
    "GET /api/web/addresses/": Call("customer", setup=lambda w: w.address),
    "POST /api/web/addresses/": Call(
        "customer",
        201,
        body=lambda w: {
            "name": "Ada",
            "mobile": "+15555550100",
            "pincode": "62701",
            "house_number": "12",
            "town": "X",
        },
    ),
    "GET /api/web/addresses/pincode/": Call("anonymous", query=lambda w: {"pincode": "62701"}),
    "POST /api/web/orders/create/": Call(
        "customer",
        201,
        setup=lambda w: w.cart_item,
        body=lambda w: {"address_id": w.address.pk, "payment_method": "COD"},
    ),
    "GET /api/web/orders/latest/": Call("customer", setup=lambda w: w.cod_order),
    "GET /api/web/orders/my/": Call("customer", setup=lambda w: (w.cod_order, w.paid_order)),
    "GET /api/web/orders/cancel-item/": Call(
        "customer", query=lambda w: {"orderId": w.paid_order.pk, "itemId": first_item_id(w.paid_order)}
    ),
    "POST /api/web/orders/cancel-item/": Call(
        "customer",
        body=lambda w: {"orderId": w.cod_order.pk, "itemId": first_item_id(w.cod_order), "reason": "x"},
    ),
    "POST /api/web/payments/payment-intent/": Call(
        "customer", setup=lambda w: w.cart_item, body=lambda w: {"address_id": w.address.pk}
    ),
}


def test_every_operation_has_a_success_case():
    assert sorted(CALLS) == OPERATIONS


@pytest.mark.parametrize("label", sorted(CALLS))
def test_success_response_matches_schema(label, world, wsgi_app, pincode_provider):
    call = CALLS[label]
    method, path = label.split(" ", 1)
    call.setup(world)
    body = call.body(world) if call.body is not None else None
    headers = {"anonymous": {}, "customer": bearer(world.customer), "staff": bearer(world.staff)}[call.role]
    kwargs = {}
    if label == "POST /api/payments/webhook/":
        raw = json.dumps(body)
        kwargs["data"] = raw.encode()  # the signature covers these exact bytes
        headers = {**headers, "Stripe-Signature": sign(raw), "Content-Type": "application/json"}
    case = SCHEMA[path][method].Case(
        path_parameters=call.path(world),
        query=call.query(world),
        body=body if body is not None else NOT_SET,
        media_type="application/json" if body is not None else None,
    )

    response = call_and_check(case, wsgi_app, headers, **kwargs)

    assert response.status_code == call.status, response.content[:500]


# Per-address login/registration/reset throttles (THROTTLE_RATE_AUTH): the 429 must be documented too.
AUTH_THROTTLED = [
    "POST /api/token/",
    "POST /api/register/",
    "POST /api/password-reset/",
    "POST /api/password-reset/confirm/",
    "POST /api/web/token/",
    "POST /api/web/register/",
    "POST /api/web/password-reset/",
    "POST /api/web/password-reset/confirm/",
]


@pytest.mark.parametrize("label", AUTH_THROTTLED)
def test_throttled_response_matches_schema(label, world, wsgi_app):
    method, path = label.split(" ", 1)
    case = SCHEMA[path][method].Case(body={}, media_type="application/json")
    for _ in range(100):  # far above any sane auth rate
        response = case.call(app=wsgi_app)
        if response.status_code == 429:
            break
        assert response.status_code == 400, response.content[:300]
    assert response.status_code == 429
    assert "Retry-After" in response.headers or "retry-after" in response.headers
    case.validate_response(response, checks=CHECKS)
