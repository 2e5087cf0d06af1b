"""Malformed input sweep over every write endpoint (plus the query strings and path ids of reads).

Each (endpoint, malformation) pair is its own test. A malformed request gets a 4xx in the
contract's error shape (400 for bad data, 415 for a content type the endpoint does not read, 401/404
where the contract says so), never a 5xx, and leaves every table exactly as it was. NUL bytes
matter on PostgreSQL, which cannot store them in text columns: they must be refused as 400 before
they reach the database. Huge integers matter too: past 2**63 they would overflow a bigint column.

`test_valid_body_is_accepted` is the positive control of the sweep: the unmutated body of each
endpoint succeeds, so every refusal below is caused by the one thing that was changed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from payments.tests.conftest import sign
from users.models import User

from .conftest import ADDRESS, World, api_client, assert_db_unchanged, db_state, first_item_id

Build = Callable[[World], object]

NUL = "\x00"
HUGE = 10**20  # past a signed 64-bit integer


@dataclass(frozen=True)
class Endpoint:
    id: str
    method: str
    path: Callable[[World], str]
    body: Callable[[World], dict]
    caller: str  # "anonymous", "customer" or "staff"
    fields: dict[str, str]  # field -> kind, see FIELD_MUTATIONS
    ok_status: int = 200
    # Every field optional: an empty body (or only unknown fields) is a valid request.
    partial: bool = False
    # The endpoint reads the raw body whatever its type (the Stripe webhook): no 415.
    any_content_type: bool = False
    # Statuses the contract allows for a refused request other than 400.
    also: frozenset = frozenset()


WEB_ADDRESS = {
    "name": "Ada Lovelace",
    "mobile": "+15555550100",
    "pincode": "62701",
    "house_number": "12 Analytical Row",
    "town": "London",
}
ADDRESS_FIELDS = {"full_name": "string", "phone": "string", "line1": "string", "postal_code": "string"}
PRODUCT_FIELDS = {
    "name": "string",
    "sku": "string",
    "price": "price",
    "stock": "count",
    "category_id": "nullable-id",
    "description": "text",
}

ENDPOINTS = [
    # Accounts
    Endpoint(
        "register",
        "post",
        lambda w: "/api/register/",
        lambda w: {"email": "new.user@example.com", "password": "Str0ng-enough-pass!"},
        "anonymous",
        {"email": "email", "password": "password", "username": "string", "first_name": "string"},
        ok_status=201,
    ),
    Endpoint(
        "token",
        "post",
        lambda w: "/api/token/",
        lambda w: {"email": w.customer.email, "password": "Sup3r-secret-pass!"},
        "anonymous",
        {"email": "string", "password": "password"},
        also=frozenset({401}),
    ),
    Endpoint(
        "token-refresh",
        "post",
        lambda w: "/api/token/refresh/",
        lambda w: {"refresh": w.refresh_token},
        "anonymous",
        {"refresh": "token"},
    ),
    Endpoint(
        "token-verify",
        "post",
        lambda w: "/api/token/verify/",
        lambda w: {"token": w.refresh_token},
        "anonymous",
        {"token": "token"},
    ),
    Endpoint(
        "token-blacklist",
        "post",
        lambda w: "/api/token/blacklist/",
        lambda w: {"refresh": w.refresh_token},
        "anonymous",
        {"refresh": "token"},
    ),
    Endpoint(
        "me-patch",
        "patch",
        lambda w: "/api/me/",
        lambda w: {"first_name": "Grace"},
        "customer",
        {"first_name": "string", "last_name": "string"},
        partial=True,
    ),
    Endpoint(
        "me-password",
        "post",
        lambda w: "/api/me/password/",
        lambda w: {"old_password": "Sup3r-secret-pass!", "new_password": "An0ther-strong-pass!"},
        "customer",
        {"old_password": "password", "new_password": "password"},
        ok_status=204,
    ),
    Endpoint(
        "password-reset",
        "post",
        lambda w: "/api/password-reset/",
        lambda w: {"email": w.customer.email},
        "anonymous",
        {"email": "email"},
    ),
    Endpoint(
        "password-reset-confirm",
        "post",
        lambda w: "/api/password-reset/confirm/",
        lambda w: {"token": w.reset_token, "password": "Brand-new-pass-42!"},
        "anonymous",
        {"token": "string", "password": "password", "uid": "string"},
    ),
    # Catalog (staff) and wishlist
    Endpoint(
        "product-create",
        "post",
        lambda w: "/api/products/",
        lambda w: {
            "name": "Lamp",
            "sku": "SKU-LAMP",
            "price": "9.99",
            "stock": 5,
            "category_id": w.category.pk,
        },
        "staff",
        PRODUCT_FIELDS,
        ok_status=201,
    ),
    Endpoint(
        "product-put",
        "put",
        lambda w: f"/api/products/{w.product.pk}/",
        lambda w: {
            "name": "Lamp",
            "sku": "SKU-LAMP",
            "price": "9.99",
            "stock": 5,
            "category_id": w.category.pk,
        },
        "staff",
        PRODUCT_FIELDS,
    ),
    Endpoint(
        "product-patch",
        "patch",
        lambda w: f"/api/products/{w.product.pk}/",
        lambda w: {"price": "9.99"},
        "staff",
        PRODUCT_FIELDS,
        partial=True,
    ),
    Endpoint(
        "category-create",
        "post",
        lambda w: "/api/categories/",
        lambda w: {"name": "Lighting", "parent": w.category.pk},
        "staff",
        {"name": "string", "slug": "slug", "parent": "nullable-id", "is_active": "bool"},
        ok_status=201,
    ),
    Endpoint(
        "category-patch",
        "patch",
        lambda w: f"/api/categories/{w.category.pk}/",
        lambda w: {"name": "Lighting"},
        "staff",
        {"name": "string", "slug": "slug", "parent": "nullable-id", "is_active": "bool"},
        partial=True,
    ),
    Endpoint(
        "wishlist-add",
        "post",
        lambda w: "/api/products/wishlist/",
        lambda w: {"product_id": w.product.pk},
        "customer",
        {"product_id": "id"},
        ok_status=201,
    ),
    # Cart
    Endpoint(
        "cart-add",
        "post",
        lambda w: "/api/cart/add/",
        lambda w: {"product_id": w.product.pk, "quantity": 2},
        "customer",
        {"product_id": "id", "quantity": "quantity"},
        ok_status=201,
    ),
    Endpoint(
        "cart-update",
        "patch",
        lambda w: f"/api/cart/update/{w.cart_item.pk}/",
        lambda w: {"quantity": 3},
        "customer",
        {"quantity": "quantity-or-zero"},
    ),
    Endpoint(
        "cart-bulk-remove",
        "post",
        lambda w: "/api/cart/bulk-remove/",
        lambda w: {"item_ids": [w.cart_item.pk]},
        "customer",
        {"item_ids": "ids"},
    ),
    Endpoint(
        "cart-bulk-move-to-wishlist",
        "post",
        lambda w: "/api/cart/bulk-move-to-wishlist/",
        lambda w: {"item_ids": [w.cart_item.pk]},
        "customer",
        {"item_ids": "ids"},
    ),
    # Addresses
    Endpoint(
        "address-create",
        "post",
        lambda w: "/api/addresses/",
        lambda w: dict(ADDRESS),
        "customer",
        {**ADDRESS_FIELDS, "country": "string", "address_type": "choice", "is_default": "bool"},
        ok_status=201,
    ),
    Endpoint(
        "address-put",
        "put",
        lambda w: f"/api/addresses/{w.address.pk}/",
        lambda w: dict(ADDRESS),
        "customer",
        ADDRESS_FIELDS,
    ),
    Endpoint(
        "address-patch",
        "patch",
        lambda w: f"/api/addresses/{w.address.pk}/",
        lambda w: {"city": "Paris"},
        "customer",
        {"city": "string", "is_default": "bool"},
        partial=True,
    ),
    # Orders and payments
    Endpoint(
        "order-create",
        "post",
        lambda w: "/api/orders/create/",
        lambda w: {"shipping_address_id": w.address.pk, "payment_method": "cod", "_": w.cart_item.pk},
        "customer",
        {"shipping_address_id": "id", "payment_method": "choice"},
        ok_status=201,
    ),
    Endpoint(
        "order-item-cancel",
        "post",
        lambda w: f"/api/orders/{w.cod_order.pk}/items/{first_item_id(w.cod_order)}/cancel/",
        lambda w: {"reason": "Ordered twice"},
        "customer",
        {"reason": "string"},
        partial=True,
    ),
    Endpoint(
        "order-ship",
        "post",
        lambda w: f"/api/orders/{w.cod_order.pk}/ship/",
        lambda w: {"tracking_number": "1Z999", "carrier": "UPS"},
        "staff",
        {"tracking_number": "string", "carrier": "string"},
    ),
    Endpoint(
        "order-refund",
        "post",
        lambda w: f"/api/orders/{w.paid_order.pk}/refund/",
        lambda w: {"reason": "Damaged"},
        "staff",
        {"reason": "string"},
        partial=True,
    ),
    Endpoint(
        "payment-intent",
        "post",
        lambda w: "/api/payments/payment-intent/",
        lambda w: {"order_id": w.card_order.pk},
        "customer",
        {"order_id": "id", "amount": "count"},
    ),
    # The storefront profile (/api/web/)
    Endpoint(
        "web-register",
        "post",
        lambda w: "/api/web/register/",
        lambda w: {"email": "new.user@example.com", "password": "Str0ng-enough-pass!"},
        "anonymous",
        {"email": "email", "password": "password"},
        ok_status=201,
    ),
    Endpoint(
        "web-token",
        "post",
        lambda w: "/api/web/token/",
        lambda w: {"username": w.customer.email, "password": "Sup3r-secret-pass!"},
        "anonymous",
        {"username": "string", "password": "password"},
        also=frozenset({401}),
    ),
    Endpoint(
        "web-token-refresh",
        "post",
        lambda w: "/api/web/token/refresh/",
        lambda w: {"refresh": w.refresh_token},
        "anonymous",
        {"refresh": "token"},
    ),
    Endpoint(
        "web-password-reset",
        "post",
        lambda w: "/api/web/password-reset/",
        lambda w: {"email": w.customer.email},
        "anonymous",
        {"email": "email"},
    ),
    Endpoint(
        "web-password-reset-confirm",
        "post",
        lambda w: "/api/web/password-reset/confirm/",
        lambda w: {"token": w.reset_token, "password": "Brand-new-pass-42!"},
        "anonymous",
        {"token": "string", "password": "password"},
    ),
    Endpoint(
        "web-wishlist-add",
        "post",
        lambda w: "/api/web/products/wishlist/",
        lambda w: {"book_id": w.product.pk},
        "customer",
        {"book_id": "id"},
        ok_status=201,
    ),
    Endpoint(
        "web-cart-add",
        "post",
        lambda w: "/api/web/cart/add/",
        lambda w: {"book_id": w.product.pk},
        "customer",
        {"book_id": "id"},
        ok_status=201,
    ),
    Endpoint(
        "web-cart-update",
        "patch",
        lambda w: f"/api/web/cart/update/{w.cart_item.pk}/",
        lambda w: {"action": "increase"},
        "customer",
        {"action": "choice"},
    ),
    Endpoint(
        "web-cart-bulk-delete",
        "post",
        lambda w: "/api/web/cart/bulk-delete/",
        lambda w: {"cart_ids": [w.cart_item.pk]},
        "customer",
        {"cart_ids": "ids"},
    ),
    Endpoint(
        "web-cart-bulk-move-to-wishlist",
        "post",
        lambda w: "/api/web/cart/bulk-move-to-wishlist/",
        lambda w: {"cart_ids": [w.cart_item.pk]},
        "customer",
        {"cart_ids": "ids"},
    ),
    Endpoint(
        "web-address-create",
        "post",
        lambda w: "/api/web/addresses/",
        lambda w: dict(WEB_ADDRESS),
        "customer",
        {
            "name": "string",
            "mobile": "string",
            "pincode": "string",
            "house_number": "string",
            "is_default": "bool",
        },
        ok_status=201,
    ),
    Endpoint(
        "web-order-create",
        "post",
        lambda w: "/api/web/orders/create/",
        lambda w: {"address_id": w.address.pk, "payment_method": "COD", "_": w.cart_item.pk},
        "customer",
        {"address_id": "id", "payment_method": "choice"},
        ok_status=201,
    ),
    Endpoint(
        "web-order-item-cancel",
        "post",
        lambda w: "/api/web/orders/cancel-item/",
        lambda w: {
            "orderId": w.cod_order.pk,
            "itemId": first_item_id(w.cod_order),
            "reason": "Ordered twice",
        },
        "customer",
        {"orderId": "id", "itemId": "id", "reason": "string"},
    ),
    Endpoint(
        "web-payment-intent",
        "post",
        lambda w: "/api/web/payments/payment-intent/",
        lambda w: {"address_id": w.address.pk, "_": w.cart_item.pk},
        "customer",
        {"address_id": "id"},
    ),
    Endpoint(
        "stripe-webhook",
        "post",
        lambda w: "/api/payments/webhook/",
        lambda w: {"id": "evt_1", "type": "payment_intent.succeeded", "data": {"object": {}}},
        "anonymous",
        {"id": "string", "type": "string"},
        any_content_type=True,
    ),
]


# --- Malformations ----------------------------------------------------------------------------------
# Field kind -> (mutation name, value). Each replaces one field of the endpoint's valid body.
FIELD_MUTATIONS: dict[str, list[tuple[str, object]]] = {
    "id": [
        ("string", "abc"),
        ("float", 1.5),
        ("list", [1]),
        ("object", {"id": 1}),
        ("null", None),
        ("zero", 0),
        ("negative", -1),
        ("huge", HUGE),
        ("nul", NUL),
    ],
    "nullable-id": [
        ("string", "abc"),
        ("float", 1.5),
        ("list", [1]),
        ("object", {"id": 1}),
        ("zero", 0),
        ("negative", -1),
        ("huge", HUGE),
        ("nul", NUL),
    ],
    "quantity": [
        ("string", "abc"),
        ("float", 2.5),
        ("list", [1]),
        ("null", None),
        ("zero", 0),
        ("negative", -5),
        ("over-limit", 100),
        ("huge", HUGE),
    ],
    "quantity-or-zero": [
        ("string", "abc"),
        ("float", 2.5),
        ("list", [1]),
        ("null", None),
        ("negative", -5),
        ("over-limit", 100),
        ("huge", HUGE),
    ],
    "price": [
        ("string", "abc"),
        ("negative", "-1.00"),
        ("huge", HUGE),
        ("too-many-digits", "123456789012.00"),
        ("too-many-decimals", "1.001"),
        ("nan", "NaN"),
        ("infinity", "Infinity"),
        ("exponent", "1e400"),
        ("list", ["1.00"]),
        ("null", None),
        ("nul", "1" + NUL),
    ],
    "count": [
        ("string", "abc"),
        ("negative", -1),
        ("huge", HUGE),
        ("float", 1.5),
        ("list", [1]),
        ("nul", NUL),
    ],
    "string": [
        ("overlong", "x" * 10_000),
        ("nul", "a" + NUL + "b"),
        ("list", ["a"]),
        ("object", {"a": "b"}),
        ("null", None),
    ],
    "text": [("nul", "a" + NUL + "b"), ("list", ["a"]), ("object", {"a": "b"}), ("null", None)],
    "slug": [("invalid", "not a slug!"), ("overlong", "a" * 10_000), ("nul", "a" + NUL)],
    "email": [
        ("invalid", "not-an-email"),
        ("overlong", "a" * 10_000 + "@example.com"),
        ("nul", "a" + NUL + "@example.com"),
        ("list", ["a@example.com"]),
        ("null", None),
    ],
    "password": [("nul", "Str0ng" + NUL + "pass!"), ("list", ["Str0ng-pass!"]), ("null", None)],
    "token": [
        ("garbage", "abc"),
        ("nul", "a" + NUL),
        ("overlong", "x" * 10_000),
        ("list", ["a"]),
        ("null", None),
    ],
    "choice": [
        ("unknown", "bogus"),
        ("nul", "cod" + NUL),
        ("overlong", "x" * 10_000),
        ("list", ["a"]),
        ("null", None),
    ],
    "bool": [("string", "maybe"), ("list", [True]), ("object", {"a": 1})],
    "ids": [
        ("string", "abc"),
        ("empty", []),
        ("strings", ["abc"]),
        ("negative", [-1]),
        ("huge", [HUGE]),
        ("nested", [[1]]),
        ("object", {"a": 1}),
        ("null", None),
        ("too-many", list(range(1, 10_002))),
    ],
}

JSON = "application/json"


@dataclass(frozen=True)
class Raw:
    """A request body sent as these exact bytes with this content type."""

    name: str
    content_type: str
    data: Callable[[dict], bytes | str]
    status: frozenset = field(default=frozenset({400}))
    # Only meaningful when the endpoint needs at least one field (see Endpoint.partial).
    needs_required_field: bool = False


BODY_MUTATIONS = [
    Raw("invalid-json", JSON, lambda body: '{"a": '),
    Raw("invalid-utf8", JSON, lambda body: b'{"a": "\xff\xfe"}'),
    Raw("json-array", JSON, lambda body: json.dumps([body])),
    Raw("json-string", JSON, lambda body: '"text"'),
    Raw("json-number", JSON, lambda body: "42"),
    Raw("json-null", JSON, lambda body: "null"),
    Raw("deeply-nested-json", JSON, lambda body: "[" * 100_000 + "]" * 100_000),
    Raw("huge-integer-literal", JSON, lambda body: '{"quantity": 1' + "0" * 5000 + "}"),
    Raw("empty-body", JSON, lambda body: "", needs_required_field=True),
    Raw("unknown-fields-only", JSON, lambda body: json.dumps({"unexpected": 1}), needs_required_field=True),
    Raw("text-plain", "text/plain", lambda body: json.dumps(body), status=frozenset({415})),
    Raw("xml", "application/xml", lambda body: "<order><id>1</id></order>", status=frozenset({415})),
    Raw(
        "form-encoded-json-text",
        "application/x-www-form-urlencoded",
        lambda body: json.dumps(body),
        needs_required_field=True,
    ),
    # Django reads a multipart body without a single part as an empty form: a valid request where
    # every field is optional.
    Raw(
        "multipart-garbage",
        "multipart/form-data; boundary=xyz",
        lambda body: "garbage\r\n--xyz--",
        needs_required_field=True,
    ),
    Raw("multipart-no-boundary", "multipart/form-data", lambda body: "garbage"),
]


def _field_cases():
    for endpoint in ENDPOINTS:
        for name, kind in endpoint.fields.items():
            for mutation, value in FIELD_MUTATIONS[kind]:
                yield pytest.param(endpoint, name, value, id=f"{endpoint.id}-{name}-{mutation}")


def _body_cases():
    for endpoint in ENDPOINTS:
        for mutation in BODY_MUTATIONS:
            if mutation.needs_required_field and endpoint.partial:
                continue
            yield pytest.param(endpoint, mutation, id=f"{endpoint.id}-{mutation.name}")


def _caller(world: World, endpoint: Endpoint):
    return {"anonymous": None, "customer": world.customer, "staff": world.staff}[endpoint.caller]


def _prepare(world: World, endpoint: Endpoint) -> tuple[str, dict]:
    """Build the endpoint's objects before the snapshot (rows read them lazily)."""
    path = endpoint.path(world)
    body = endpoint.body(world)
    body.pop("_", None)  # only there to create objects the request needs (a cart line)
    return path, body


def _assert_refused(response, allowed: frozenset, before: dict) -> None:
    assert response.status_code < 500, response.content
    assert response.status_code in allowed, (response.status_code, response.content[:500])
    body = response.json()
    assert isinstance(body, dict) and body, body  # the contract's error shape, never empty or HTML
    assert_db_unchanged(before)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda endpoint: endpoint.id)
def test_valid_body_is_accepted(world, endpoint):
    path, body = _prepare(world, endpoint)
    client = api_client(_caller(world, endpoint))
    if endpoint.id == "stripe-webhook":
        # Signed as Stripe signs; an event type the shop does not handle is acknowledged (200).
        raw = json.dumps({**body, "type": "customer.created"})
        response = client.post(path, raw, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign(raw))
    else:
        response = getattr(client, endpoint.method)(path, body, format="json")
    assert response.status_code == endpoint.ok_status, response.content


@pytest.mark.parametrize(("endpoint", "name", "value"), list(_field_cases()))
def test_malformed_field_is_refused(world, endpoint, name, value):
    path, body = _prepare(world, endpoint)
    before = db_state()

    response = getattr(api_client(_caller(world, endpoint)), endpoint.method)(
        path, {**body, name: value}, format="json"
    )

    _assert_refused(response, frozenset({400}) | endpoint.also | _kind_allows(endpoint.fields[name]), before)


def _kind_allows(kind: str) -> frozenset:
    if kind in {"id", "nullable-id"}:
        # A well-formed id that names nothing (0, -1 where the field has no lower bound) is a 404.
        return frozenset({404})
    if kind.startswith("quantity"):
        # Over the per-line limit can also be `quantity_limit_exceeded` (409), as the contract says.
        return frozenset({409})
    if kind == "token":
        return frozenset({401})  # contract: a bad token is 401
    return frozenset()


@pytest.mark.parametrize(("endpoint", "mutation"), list(_body_cases()))
def test_malformed_body_is_refused(world, endpoint, mutation):
    path, body = _prepare(world, endpoint)
    before = db_state()
    client = api_client(_caller(world, endpoint))

    response = client.generic(
        endpoint.method.upper(), path, data=mutation.data(body), content_type=mutation.content_type
    )

    allowed = frozenset({400}) if endpoint.any_content_type else mutation.status
    _assert_refused(response, allowed | endpoint.also, before)


# --- Query strings and path ids of reads -------------------------------------------------------------

QUERY_CASES = [
    ("/api/products/", {"search": NUL}),
    ("/api/products/", {"search": "x" * 10_000}),
    ("/api/products/", {"category": NUL}),
    ("/api/products/", {"category": str(HUGE)}),
    ("/api/products/", {"brand": NUL}),
    ("/api/products/", {"min_price": "abc"}),
    ("/api/products/", {"min_price": "1e400"}),
    ("/api/products/", {"max_price": "NaN"}),
    ("/api/products/", {"max_price": str(HUGE)}),
    ("/api/products/", {"in_stock": NUL}),
    ("/api/products/", {"ordering": "password"}),
    ("/api/products/", {"page": str(HUGE)}),
    ("/api/products/", {"page": "-1"}),
    ("/api/products/", {"page_size": str(HUGE)}),
    ("/api/products/brands/", {"category": NUL}),
    ("/api/products/price-range/", {"category": NUL}),
    ("/api/orders/my/", {"search": NUL}),
    ("/api/orders/my/", {"status": NUL}),
    ("/api/orders/my/", {"page": str(HUGE)}),
    ("/api/addresses/pincode/", {"pincode": NUL}),
    ("/api/addresses/pincode/", {"pincode": "x" * 10_000}),
    ("/api/web/products/", {"category": NUL}),
    ("/api/web/products/", {"brand": NUL}),
    ("/api/web/products/", {"min_price": "abc"}),
    ("/api/web/products/", {"sort": NUL}),
    ("/api/web/products/brands/", {"category": NUL}),
    ("/api/web/products/price-range/", {"category": NUL}),
    ("/api/web/orders/my/", {"search": NUL}),
    ("/api/web/orders/my/", {"page": str(HUGE)}),
    ("/api/web/orders/cancel-item/", {"orderId": str(HUGE), "itemId": "abc"}),
    ("/api/web/orders/cancel-item/", {"orderId": NUL, "itemId": NUL}),
    ("/api/web/addresses/pincode/", {"pincode": NUL}),
]


@pytest.mark.parametrize(
    ("url", "query"), QUERY_CASES, ids=[f"{url}?{'&'.join(q)}-{i}" for i, (url, q) in enumerate(QUERY_CASES)]
)
def test_malformed_query_is_not_a_server_error(world, url, query):
    response = api_client(world.customer).get(url, query)
    # Filters that cannot match may simply match nothing (200); everything else is a 4xx.
    assert response.status_code in {200, 400, 404}, (response.status_code, response.content[:300])
    assert isinstance(response.json(), (dict, list))


ID_PATHS = [
    "/api/products/{}/",
    "/api/categories/{}/",
    "/api/addresses/{}/",
    "/api/addresses/{}/set-default/",
    "/api/orders/{}/",
    "/api/orders/cancel/{}/",
    "/api/orders/{}/items/{}/cancel/",
    "/api/cart/update/{}/",
    "/api/cart/remove/{}/",
    "/api/products/wishlist/{}/",
    "/api/web/products/{}/",
    "/api/web/products/wishlist/{}/",
    "/api/web/cart/update/{}/",
    "/api/web/cart/remove/{}/",
]
METHOD_OF = {
    "set-default": "post",
    "cancel": "post",
    "update": "patch",
    "remove": "delete",
    "wishlist": "delete",
}
# A valid body where one is needed, so the id is the only thing wrong with the request.
VALID_BODY = {"/api/cart/update/{}/": {"quantity": 1}, "/api/web/cart/update/{}/": {"action": "increase"}}
BAD_IDS = {"huge": str(HUGE), "negative": "-1", "zero": "0", "word": "abc", "nul": "%00", "float": "1.5"}


def _method(template: str) -> str:
    for marker, method in METHOD_OF.items():
        if marker in template:
            return method
    return "get"


@pytest.mark.parametrize("bad", BAD_IDS)
@pytest.mark.parametrize("template", ID_PATHS)
def test_malformed_path_id_is_a_json_404(world, template, bad):
    path = template.replace("{}", BAD_IDS[bad])
    before = db_state()

    response = getattr(api_client(world.staff), _method(template))(
        path, VALID_BODY.get(template, {}), format="json"
    )

    assert response.status_code == 404, (response.status_code, response.content[:300])
    assert response.json()["code"] == "not_found"
    assert_db_unchanged(before)


# --- Unknown and read-only fields ------------------------------------------------------------------
# DRF ignores fields a serializer does not declare; the contract says nothing else, so an extra field
# is not a 400. What matters is that it is ignored: none of these may take effect (mass assignment).

INJECTED = {
    "me-patch": (
        lambda w: {"is_staff": True, "is_superuser": True, "email": "evil@example.com", "id": 999_999},
        lambda w, response: User.objects.filter(
            pk=w.customer.pk, is_staff=False, is_superuser=False, email=w.customer.email
        ).exists(),
    ),
    "register": (
        lambda w: {"is_staff": True, "is_superuser": True, "is_active": False},
        lambda w, response: User.objects.filter(
            email="new.user@example.com", is_staff=False, is_superuser=False, is_active=True
        ).exists(),
    ),
    "address-create": (
        lambda w: {"user": w.intruder.pk, "user_id": w.intruder.pk, "id": 999_999},
        lambda w, response: (
            w.customer.addresses.filter(pk=response.json()["id"]).exists()
            and response.json()["id"] != 999_999
        ),
    ),
    "web-address-create": (
        lambda w: {"user": w.intruder.pk, "user_id": w.intruder.pk},
        lambda w, response: w.customer.addresses.filter(pk=response.json()["id"]).exists(),
    ),
    "cart-add": (
        lambda w: {"unit_price": "0.01", "user": w.intruder.pk, "cart": 1},
        lambda w, response: (
            response.json()["items"][0]["unit_price"] == str(w.product.price)
            and not w.intruder.cart.items.filter(product=w.product, quantity=2).exists()
        ),
    ),
    "wishlist-add": (
        lambda w: {"user": w.intruder.pk},
        lambda w, response: w.customer.wishlist_items.filter(pk=response.json()["id"]).exists(),
    ),
    "order-create": (
        lambda w: {"total": "0.01", "subtotal": "0.01", "status": "PAID", "user": w.intruder.pk},
        lambda w, response: w.customer.orders.filter(
            pk=response.json()["order"]["id"], status="CONFIRMED", total__gt=1
        ).exists(),
    ),
    "product-create": (
        lambda w: {"id": 999_999, "created_at": "2000-01-01T00:00:00Z", "currency": "eur", "in_stock": False},
        lambda w, response: (
            response.json()["id"] != 999_999
            and response.json()["currency"] == "usd"
            and not response.json()["created_at"].startswith("2000")
        ),
    ),
}


@pytest.mark.parametrize("endpoint_id", INJECTED)
def test_unknown_and_read_only_fields_are_ignored(world, endpoint_id):
    endpoint = next(e for e in ENDPOINTS if e.id == endpoint_id)
    inject, took_no_effect = INJECTED[endpoint_id]
    path, body = _prepare(world, endpoint)
    extra = inject(world)

    response = getattr(api_client(_caller(world, endpoint)), endpoint.method)(
        path, {**body, **extra}, format="json"
    )

    assert response.status_code == endpoint.ok_status, response.content
    assert took_no_effect(world, response), response.content
