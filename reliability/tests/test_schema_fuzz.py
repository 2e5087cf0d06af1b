"""schemathesis against the project's own OpenAPI schema, in process, on every operation.

Each operation is one test per caller (anonymous, customer; staff on the staff operations), so a
failure names the operation and the caller. Every response must pass the checks in `_schema.CHECKS`:
no 5xx, a documented status code, a documented content type, and a body that matches the schema
documented for that status.

Bounded for CI: every phase except stateful (examples, coverage's deterministic boundary and
missing-field cases, then `FUZZ_EXAMPLES` random cases, positive and negative), derandomized,
no shrinking, no deadline. See docs/reliability.md.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, Phase, settings
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.meta import TestPhase

from ._schema import SCHEMA, call_and_check
from .conftest import World, bearer, first_item_id

# Operations whose behaviour depends on the caller being staff.
STAFF_PATHS = r"^/api/(products/(\{id\}/)?|categories/(\{id\}/)?|orders/\{id\}/((ship|deliver|refund)/)?)$"


# --- Pointing generated ids at real objects ------------------------------------------------------
# Random ids almost never exist, so without this nearly every request would be a 404 and the
# success responses (whose bodies have the richest schemas) would go unchecked. For positive cases
# of the examples and fuzzing phases, three ids in four are replaced by the id of a seeded object
# the caller may act on; coverage-phase and negative cases keep their boundary/invalid values.

Getter = Callable[[World], object]


PATH_IDS: dict[str, dict[str, Getter]] = {
    "/api/addresses/{id}/": {"id": lambda w: w.address.pk},
    "/api/addresses/{id}/set-default/": {"id": lambda w: w.address.pk},
    "/api/cart/update/{item_id}/": {"item_id": lambda w: w.cart_item.pk},
    "/api/cart/remove/{item_id}/": {"item_id": lambda w: w.cart_item.pk},
    "/api/categories/{id}/": {"id": lambda w: w.category.pk},
    "/api/orders/{id}/": {"id": lambda w: w.cod_order.pk},
    "/api/orders/{id}/ship/": {"id": lambda w: w.cod_order.pk},
    "/api/orders/{id}/deliver/": {"id": lambda w: w.shipped_order.pk},
    "/api/orders/{id}/refund/": {"id": lambda w: w.paid_order.pk},
    "/api/orders/{id}/items/{item_id}/cancel/": {
        "id": lambda w: w.cod_order.pk,
        "item_id": lambda w: first_item_id(w.cod_order),
    },
    "/api/orders/cancel/{id}/": {"id": lambda w: w.card_order.pk},
    "/api/products/{id}/": {"id": lambda w: w.product.pk},
    "/api/products/wishlist/{id}/": {"id": lambda w: w.wishlist_item.pk},
    "/api/web/cart/update/{id}/": {"id": lambda w: w.cart_item.pk},
    "/api/web/cart/remove/{id}/": {"id": lambda w: w.cart_item.pk},
    "/api/web/products/{id}/": {"id": lambda w: w.product.pk},
    "/api/web/products/wishlist/{id}/": {"id": lambda w: w.wishlist_item.pk},
}
FIELD_IDS: dict[str, Getter] = {
    "product_id": lambda w: w.product.pk,
    "book_id": lambda w: w.product.pk,
    "shipping_address_id": lambda w: w.address.pk,
    "address_id": lambda w: w.address.pk,
    "order_id": lambda w: w.card_order.pk,
    "orderId": lambda w: w.cod_order.pk,
    "itemId": lambda w: first_item_id(w.cod_order),
    "item_ids": lambda w: [w.cart_item.pk],
    "cart_ids": lambda w: [w.cart_item.pk],
    "category_id": lambda w: w.category.pk,
    "parent": lambda w: w.category.pk,
}


def _pick(value: object) -> bool:
    """Deterministic: three generated values in four are replaced (the rest stay random)."""
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, int):
        return value % 4 != 0
    if isinstance(value, (list, str)):
        return len(value) % 4 != 0
    return False


def _as_int(value: object) -> int | None:
    """Coverage-phase path values arrive already stringified for the wire."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


def _point_ids_at_world(case, world: World) -> None:
    meta = case.meta
    if meta is None or meta.phase.name == TestPhase.STATEFUL:
        return
    path_ids = PATH_IDS.get(case.operation.path, {})
    if path_ids and not meta.is_negative_at(ParameterLocation.PATH):
        for name, getter in path_ids.items():
            value = _as_int((case.path_parameters or {}).get(name))
            if value is not None and _pick(value):
                case.path_parameters[name] = getter(world)
    for location, container in ((ParameterLocation.BODY, case.body), (ParameterLocation.QUERY, case.query)):
        if not isinstance(container, dict) or meta.is_negative_at(location):
            continue
        for name, getter in FIELD_IDS.items():
            if name in container and _pick(container[name]):
                container[name] = getter(world)


def _call_and_check(case, world: World, wsgi_app, headers: dict[str, str]) -> None:
    _point_ids_at_world(case, world)
    call_and_check(case, wsgi_app, headers)


HYPOTHESIS = settings(
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


@pytest.mark.parametrize("role", ["anonymous", "customer"])
@SCHEMA.parametrize()
@HYPOTHESIS
def test_operation(case, role, world, wsgi_app, pincode_provider):
    headers = bearer(world.customer) if role == "customer" else {}
    _call_and_check(case, world, wsgi_app, headers)


@pytest.mark.parametrize("role", ["staff"])
@SCHEMA.include(path_regex=STAFF_PATHS).parametrize()
@HYPOTHESIS
def test_staff_operation(case, role, world, wsgi_app, pincode_provider):
    _call_and_check(case, world, wsgi_app, bearer(world.staff))
