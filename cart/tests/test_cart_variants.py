"""POST /api/cart/add/ with variants: which variant a line holds, one line per variant, and the
stock, price and availability rules per variant."""

from collections import Counter
from decimal import Decimal

import pytest

from cart.models import CartItem
from conftest import client_for, run_together
from products.models import Product, ProductVariant
from products.tests.factories import ProductFactory, ProductVariantFactory
from products.tests.stock_helpers import sized_product, variant_of

pytestmark = pytest.mark.django_db

URL = "/api/cart/add/"


@pytest.fixture
def shirt(db):
    return sized_product()  # S: 5 at 20.00, M: 3 at 22.00


def lines(user) -> dict[int, int]:
    return dict(CartItem.objects.filter(cart__user=user).values_list("variant_id", "quantity"))


def add(client, **body):
    return client.post(URL, body, format="json")


def test_add_a_sized_variant(auth_client, user, shirt):
    m = variant_of(shirt, Size="M")
    response = add(auth_client, product_id=shirt.pk, variant_id=m.pk, quantity=2)

    assert response.status_code == 201, response.json()
    [line] = response.json()["items"]
    assert line["variant"] == {"id": m.pk, "sku": m.sku, "options": {"Size": "M"}}
    assert line["product"]["id"] == shirt.pk
    assert line["unit_price"] == "22.00"  # the variant's price, not the product's lowest (20.00)
    assert line["line_total"] == "44.00"
    assert response.json()["subtotal"] == "44.00"
    assert lines(user) == {m.pk: 2}
    assert CartItem.objects.get(cart__user=user).product_id == shirt.pk


def test_the_same_variant_adds_to_its_line_another_variant_is_another_line(auth_client, user, shirt):
    s, m = variant_of(shirt, Size="S"), variant_of(shirt, Size="M")
    add(auth_client, product_id=shirt.pk, variant_id=m.pk)
    add(auth_client, product_id=shirt.pk, variant_id=s.pk, quantity=2)
    response = add(auth_client, product_id=shirt.pk, variant_id=m.pk)

    assert response.status_code == 201
    assert lines(user) == {m.pk: 2, s.pk: 2}
    body = response.json()
    assert [line["variant"]["options"] for line in body["items"]] == [{"Size": "M"}, {"Size": "S"}]
    assert body["total_items"] == 4
    assert body["subtotal"] == "84.00"  # 2 x 22.00 + 2 x 20.00


def test_variant_id_is_required_when_the_product_has_several(auth_client, user, shirt):
    response = add(auth_client, product_id=shirt.pk)
    assert response.status_code == 400
    assert list(response.json()) == ["variant_id"]
    assert isinstance(response.json()["variant_id"], list)
    assert lines(user) == {}


def test_variant_id_may_be_left_out_when_one_variant_is_active(auth_client, user, shirt):
    s, m = variant_of(shirt, Size="S"), variant_of(shirt, Size="M")
    ProductVariant.objects.filter(pk=s.pk).update(is_active=False)
    response = add(auth_client, product_id=shirt.pk)
    assert response.status_code == 201
    assert lines(user) == {m.pk: 1}


def test_a_simple_product_needs_no_variant_id(auth_client, user):
    product = ProductFactory(stock=3)
    response = add(auth_client, product_id=product.pk)
    assert response.status_code == 201
    assert lines(user) == {product.variants.get().pk: 1}
    assert response.json()["items"][0]["variant"]["options"] == {}


@pytest.mark.parametrize("which", ["other_product", "missing"])
def test_a_variant_of_another_product_is_400(auth_client, user, shirt, which):
    other = ProductFactory()
    variant_id = other.variants.get().pk if which == "other_product" else 10**9
    response = add(auth_client, product_id=shirt.pk, variant_id=variant_id)
    assert response.status_code == 400
    assert list(response.json()) == ["variant_id"]
    assert lines(user) == {}


@pytest.mark.parametrize("bad", [0, -1, "M", 2**63])
def test_a_malformed_variant_id_is_400(auth_client, user, shirt, bad):
    response = add(auth_client, product_id=shirt.pk, variant_id=bad)
    assert response.status_code == 400
    assert "variant_id" in response.json()


def test_an_inactive_variant_is_409_product_unavailable(auth_client, user, shirt):
    m = variant_of(shirt, Size="M")
    ProductVariant.objects.filter(pk=m.pk).update(is_active=False)
    response = add(auth_client, product_id=shirt.pk, variant_id=m.pk)
    assert response.status_code == 409
    assert response.json()["code"] == "product_unavailable"
    assert response.json()["variant_id"] == m.pk
    assert lines(user) == {}


def test_an_inactive_product_is_409_even_without_variant_id(auth_client, user, shirt):
    Product.objects.filter(pk=shirt.pk).update(is_active=False)
    response = add(auth_client, product_id=shirt.pk)
    assert response.status_code == 409
    assert response.json()["code"] == "product_unavailable"


def test_a_product_without_an_active_variant_is_409(auth_client, user, shirt):
    ProductVariant.objects.filter(product=shirt).update(is_active=False)
    response = add(auth_client, product_id=shirt.pk)
    assert response.status_code == 409
    assert response.json()["code"] == "product_unavailable"


def test_stock_cap_is_the_variants(auth_client, user, shirt):
    """M has 3 of the product's 8: a fourth M is refused with `available` = 3; S is unaffected."""
    s, m = variant_of(shirt, Size="S"), variant_of(shirt, Size="M")
    assert add(auth_client, product_id=shirt.pk, variant_id=m.pk, quantity=3).status_code == 201

    response = add(auth_client, product_id=shirt.pk, variant_id=m.pk)
    assert response.status_code == 409
    body = response.json()
    assert (body["code"], body["available"], body["product_id"], body["variant_id"]) == (
        "insufficient_stock",
        3,
        shirt.pk,
        m.pk,
    )
    assert add(auth_client, product_id=shirt.pk, variant_id=s.pk, quantity=5).status_code == 201
    assert lines(user) == {m.pk: 3, s.pk: 5}


def test_raising_a_line_checks_its_variants_stock(auth_client, user, shirt):
    m = variant_of(shirt, Size="M")
    add(auth_client, product_id=shirt.pk, variant_id=m.pk, quantity=3)
    item = CartItem.objects.get(cart__user=user)
    response = auth_client.patch(f"/api/cart/update/{item.pk}/", {"action": "increase"}, format="json")
    assert response.status_code == 409
    assert response.json()["available"] == 3


def test_the_line_follows_the_variants_price(auth_client, user, shirt):
    m = variant_of(shirt, Size="M")
    add(auth_client, product_id=shirt.pk, variant_id=m.pk, quantity=2)
    ProductVariant.objects.filter(pk=m.pk).update(price=Decimal("25.00"))
    body = auth_client.get("/api/cart/").json()
    assert body["items"][0]["unit_price"] == "25.00"
    assert body["subtotal"] == "50.00"


def test_cart_read_stays_in_its_query_budget_with_variants(auth_client, user, django_assert_max_num_queries):
    for index in range(6):
        product = sized_product(name=f"Shirt {index}")
        for variant in product.variants.all():
            add(auth_client, product_id=product.pk, variant_id=variant.pk)
    with django_assert_max_num_queries(3):
        body = auth_client.get("/api/cart/").json()
    assert len(body["items"]) == 12
    # Each line's product shows its sizes (one query for all of them, not one per line).
    for line in body["items"]:
        assert [option["name"] for option in line["product"]["options"]] == ["Size"]
        assert line["variant"]["id"] in {variant["id"] for variant in line["product"]["variants"]}


def test_extra_variant_of_a_simple_product_makes_variant_id_required(auth_client, user):
    product = ProductFactory(stock=3)
    ProductVariantFactory(product=product, options={"Colour": "Red"}, stock=2)
    response = add(auth_client, product_id=product.pk)
    assert response.status_code == 400
    assert "variant_id" in response.json()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_adds_of_one_variant_stop_at_its_stock(user):
    shirt = sized_product()
    s, m = variant_of(shirt, Size="S"), variant_of(shirt, Size="M")
    clients = [client_for(user) for _ in range(10)]

    responses = run_together(
        10,
        lambda i: add(clients[i], product_id=shirt.pk, variant_id=(m if i % 2 else s).pk),
    )

    by_variant = Counter(
        ("M" if i % 2 else "S", response.status_code) for i, response in enumerate(responses)
    )
    # 5 adds of M (3 in stock) and 5 of S (5 in stock): no add is lost, none passes the stock.
    assert by_variant == {("M", 201): 3, ("M", 409): 2, ("S", 201): 5}
    assert lines(user) == {m.pk: 3, s.pk: 5}
