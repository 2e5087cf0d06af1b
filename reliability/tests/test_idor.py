"""IDOR matrix: every per-user action, performed by another customer on the owner's object, and
every staff-only action, performed by a customer and by an anonymous caller.

Each row is its own test. A refused request must leave the whole database exactly as it was
(`db_state()` reads every table a request can write to), and must not leak the object. Each row
also has a positive control: the owner (or staff) doing the same request succeeds, which proves
the request itself is well-formed, so the refusal cannot come from a typo in the row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from .conftest import World, api_client, assert_db_unchanged, db_state, first_item_id

Build = Callable[[World], object]


@dataclass(frozen=True)
class Row:
    id: str
    method: str
    path: Callable[[World], str]
    body: Build = field(default=lambda w: None)
    query: Build = field(default=lambda w: None)
    # What the other customer gets. 404 everywhere, except the bulk removals, which the contract
    # defines as "ids not in the caller's cart are ignored" (200 with the caller's own cart).
    intruder_status: int = 404
    owner_status: int = 200


IDOR_ROWS = [
    # Addresses
    Row("address-get", "get", lambda w: f"/api/addresses/{w.address.pk}/"),
    Row(
        "address-put",
        "put",
        lambda w: f"/api/addresses/{w.address.pk}/",
        body=lambda w: {
            "full_name": "Mallory",
            "phone": "+15555550199",
            "line1": "1 Evil Street",
            "city": "Gotham",
            "postal_code": "10001",
            "country": "US",
        },
    ),
    Row(
        "address-patch",
        "patch",
        lambda w: f"/api/addresses/{w.address.pk}/",
        body=lambda w: {"city": "Gotham"},
    ),
    Row("address-delete", "delete", lambda w: f"/api/addresses/{w.address.pk}/", owner_status=204),
    Row("address-set-default", "post", lambda w: f"/api/addresses/{w.second_address.pk}/set-default/"),
    # Wishlist
    Row(
        "wishlist-delete",
        "delete",
        lambda w: f"/api/products/wishlist/{w.wishlist_item.pk}/",
        owner_status=204,
    ),
    # Cart lines
    Row(
        "cart-update-quantity",
        "patch",
        lambda w: f"/api/cart/update/{w.cart_item.pk}/",
        body=lambda w: {"quantity": 3},
    ),
    Row(
        "cart-update-action",
        "patch",
        lambda w: f"/api/cart/update/{w.cart_item.pk}/",
        body=lambda w: {"action": "increase"},
    ),
    Row("cart-remove", "delete", lambda w: f"/api/cart/remove/{w.cart_item.pk}/"),
    Row(
        "cart-bulk-remove",
        "post",
        lambda w: "/api/cart/bulk-remove/",
        body=lambda w: {"item_ids": [w.cart_item.pk]},
        intruder_status=200,
    ),
    Row(
        "cart-bulk-move-to-wishlist",
        "post",
        lambda w: "/api/cart/bulk-move-to-wishlist/",
        body=lambda w: {"item_ids": [w.cart_item.pk]},
    ),
    # Orders
    Row("order-detail", "get", lambda w: f"/api/orders/{w.cod_order.pk}/"),
    Row("order-cancel", "post", lambda w: f"/api/orders/cancel/{w.card_order.pk}/"),
    Row(
        "order-item-cancel",
        "post",
        lambda w: f"/api/orders/{w.cod_order.pk}/items/{first_item_id(w.cod_order)}/cancel/",
        body=lambda w: {"reason": "changed my mind"},
    ),
    Row(
        "order-create-with-their-address",
        "post",
        lambda w: "/api/orders/create/",
        body=lambda w: {"shipping_address_id": w.address.pk, "payment_method": "cod"},
        owner_status=201,
    ),
    Row(
        "payment-intent",
        "post",
        lambda w: "/api/payments/payment-intent/",
        body=lambda w: {"order_id": w.card_order.pk},
    ),
    # The storefront profile (/api/web/)
    Row(
        "web-wishlist-delete",
        "delete",
        lambda w: f"/api/web/products/wishlist/{w.wishlist_item.pk}/",
        owner_status=204,
    ),
    Row(
        "web-wishlist-delete-by-product-id",
        "delete",
        lambda w: f"/api/web/products/wishlist/{w.wishlist_item.product_id}/",
        owner_status=204,
    ),
    Row(
        "web-cart-update",
        "patch",
        lambda w: f"/api/web/cart/update/{w.cart_item.pk}/",
        body=lambda w: {"action": "increase"},
    ),
    Row("web-cart-remove", "delete", lambda w: f"/api/web/cart/remove/{w.cart_item.pk}/"),
    Row(
        "web-cart-bulk-delete",
        "post",
        lambda w: "/api/web/cart/bulk-delete/",
        body=lambda w: {"cart_ids": [w.cart_item.pk]},
        intruder_status=200,
    ),
    Row(
        "web-cart-bulk-move-to-wishlist",
        "post",
        lambda w: "/api/web/cart/bulk-move-to-wishlist/",
        body=lambda w: {"cart_ids": [w.cart_item.pk]},
    ),
    Row(
        "web-order-item-get",
        "get",
        lambda w: "/api/web/orders/cancel-item/",
        query=lambda w: {"orderId": w.cod_order.pk, "itemId": first_item_id(w.cod_order)},
    ),
    Row(
        "web-order-item-cancel",
        "post",
        lambda w: "/api/web/orders/cancel-item/",
        body=lambda w: {"orderId": w.cod_order.pk, "itemId": first_item_id(w.cod_order), "reason": "x"},
    ),
    Row(
        "web-order-create-with-their-address",
        "post",
        lambda w: "/api/web/orders/create/",
        body=lambda w: {"address_id": w.address.pk, "payment_method": "COD"},
        owner_status=201,
    ),
    Row(
        "web-payment-intent-with-their-address",
        "post",
        lambda w: "/api/web/payments/payment-intent/",
        body=lambda w: {"address_id": w.address.pk},
    ),
]


def _send(client, row: Row, world: World, path: str, body, query):
    if row.method == "get":
        return client.get(path, query or {})
    return getattr(client, row.method)(path, body, format="json")


@pytest.mark.parametrize("row", IDOR_ROWS, ids=lambda row: row.id)
def test_other_customer_gets_404_and_changes_nothing(world, row):
    # Build every object first (the rows read them lazily), so the snapshot includes them.
    path, body, query = row.path(world), row.body(world), row.query(world)
    _ = world.cart_item, world.intruder
    before = db_state()

    response = _send(api_client(world.intruder), row, world, path, body, query)

    assert response.status_code == row.intruder_status, response.content
    if row.intruder_status == 404:
        assert response.json()["code"] == "not_found"
        assert db_state() == before
    else:  # the intruder's own cart comes back, without the owner's line
        assert world.cart_item.pk not in {line["id"] for line in _lines(response.json())}
        # Removing nothing from their own cart still touches its updated_at; nothing else changes.
        assert _mask_cart_touch(db_state(), world.intruder) == _mask_cart_touch(before, world.intruder)

    # Positive control: the owner doing exactly this succeeds.
    owner = _send(api_client(world.customer), row, world, path, body, query)
    assert owner.status_code == row.owner_status, owner.content


def _mask_cart_touch(state: dict, user) -> dict:
    state["cart.Cart"] = [
        {**cart, "updated_at": None} if cart["user_id"] == user.pk else cart for cart in state["cart.Cart"]
    ]
    return state


def _lines(body) -> list[dict]:
    return body["items"] if isinstance(body, dict) else body


# --- Lists show only the caller's own objects --------------------------------------------------

LISTS = {
    "addresses": ("/api/addresses/", lambda w: w.address.pk),
    "wishlist": ("/api/products/wishlist/", lambda w: w.wishlist_item.pk),
    "cart": ("/api/cart/", lambda w: w.cart_item.pk),
    "orders-my": ("/api/orders/my/", lambda w: w.cod_order.pk),
    "web-addresses": ("/api/web/addresses/", lambda w: w.address.pk),
    "web-wishlist": ("/api/web/products/wishlist/", lambda w: w.wishlist_item.pk),
    "web-cart": ("/api/web/cart/", lambda w: w.cart_item.pk),
    "web-orders-my": ("/api/web/orders/my/", lambda w: w.cod_order.pk),
}


def _ids(body) -> set:
    rows = body["results"] if isinstance(body, dict) and "results" in body else _lines(body)
    return {row["id"] for row in rows}


@pytest.mark.parametrize("name", LISTS)
def test_lists_show_only_the_callers_objects(world, name):
    url, owned_id = LISTS[name]
    object_id = owned_id(world)
    _ = world.intruder

    assert object_id not in _ids(api_client(world.intruder).get(url).json())
    assert object_id in _ids(api_client(world.customer).get(url).json())  # positive control


def test_latest_order_is_never_another_customers(world):
    _ = world.cod_order
    response = api_client(world.intruder).get("/api/orders/latest/")
    assert response.status_code == 404
    assert api_client(world.customer).get("/api/orders/latest/").json()["id"] == world.cod_order.pk


# --- Staff-only actions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class StaffRow:
    id: str
    method: str
    path: Callable[[World], str]
    body: Build = field(default=lambda w: None)
    staff_status: int = 200


STAFF_ROWS = [
    StaffRow(
        "product-create",
        "post",
        lambda w: "/api/products/",
        body=lambda w: {"name": "Contraband", "sku": "SKU-CONTRA", "price": "9.99", "stock": 5},
        staff_status=201,
    ),
    StaffRow(
        "product-put",
        "put",
        lambda w: f"/api/products/{w.product.pk}/",
        body=lambda w: {"name": "Renamed", "sku": w.product.sku, "price": "0.01", "stock": 0},
    ),
    StaffRow(
        "product-patch", "patch", lambda w: f"/api/products/{w.product.pk}/", body=lambda w: {"price": "0.01"}
    ),
    StaffRow("product-delete", "delete", lambda w: f"/api/products/{w.product.pk}/", staff_status=204),
    StaffRow(
        "category-create",
        "post",
        lambda w: "/api/categories/",
        body=lambda w: {"name": "Secret"},
        staff_status=201,
    ),
    StaffRow(
        "category-put",
        "put",
        lambda w: f"/api/categories/{w.category.pk}/",
        body=lambda w: {"name": "Renamed"},
    ),
    StaffRow(
        "category-patch",
        "patch",
        lambda w: f"/api/categories/{w.category.pk}/",
        body=lambda w: {"name": "Renamed"},
    ),
    StaffRow("category-delete", "delete", lambda w: f"/api/categories/{w.category.pk}/", staff_status=204),
    StaffRow(
        "order-ship",
        "post",
        lambda w: f"/api/orders/{w.cod_order.pk}/ship/",
        body=lambda w: {"tracking_number": "1Z999", "carrier": "UPS"},
    ),
    StaffRow("order-deliver", "post", lambda w: f"/api/orders/{w.shipped_order.pk}/deliver/"),
    StaffRow(
        "order-refund",
        "post",
        lambda w: f"/api/orders/{w.paid_order.pk}/refund/",
        body=lambda w: {"reason": "x"},
    ),
]

CALLERS = {
    # The customer is the order's own customer: owning an order does not make its status yours to set.
    "customer": (lambda w: w.customer, 403, "permission_denied"),
    "anonymous": (lambda w: None, 401, "not_authenticated"),
}


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("row", STAFF_ROWS, ids=lambda row: row.id)
def test_staff_action_refused_to_non_staff(world, row, caller):
    who, status, code = CALLERS[caller]
    path, body = row.path(world), row.body(world)
    before = db_state()

    response = getattr(api_client(who(world)), row.method)(path, body, format="json")

    assert response.status_code == status, response.content
    assert response.json()["code"] == code
    assert_db_unchanged(before)

    # Positive control: staff doing exactly this succeeds.
    staff = getattr(api_client(world.staff), row.method)(path, body, format="json")
    assert staff.status_code == row.staff_status, staff.content
