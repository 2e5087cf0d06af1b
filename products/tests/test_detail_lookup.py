"""`GET /api/products/<id>/` reads its product with a prepared query (`selectors.product_read`):
every id the ORM lookup found is found, everything else is the contract's 404, never a 500."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test.utils import CaptureQueriesContext

from products import selectors
from products.serializers import product_output
from products.tests.factories import ProductFactory, ProductVariantFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "product_id",
    ["abc", "0", "-1", "99999999999999999999999", "9223372036854775807", "1.0", "%20"],
)
def test_ids_that_name_no_product_are_404(api_client, product_id):
    ProductFactory()
    response = api_client.get(f"/api/products/{product_id}/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


def test_an_inactive_product_is_404_except_for_staff(api_client, staff_user):
    product = ProductFactory(is_active=False)
    assert api_client.get(f"/api/products/{product.pk}/").status_code == 404
    api_client.force_authenticate(staff_user)
    response = api_client.get(f"/api/products/{product.pk}/")
    assert response.status_code == 200
    assert response.json()["id"] == product.pk


def test_staff_and_anonymous_readers_each_get_their_own_query(api_client, staff_user):
    active = ProductFactory()
    assert api_client.get(f"/api/products/{active.pk}/").json()["id"] == active.pk
    api_client.force_authenticate(staff_user)
    assert api_client.get(f"/api/products/{active.pk}/").json()["id"] == active.pk
    api_client.force_authenticate(None)
    inactive = ProductFactory(is_active=False)
    assert api_client.get(f"/api/products/{inactive.pk}/").status_code == 404


def _attached(product_id, user):
    """The product as the list reads it: `product_read_queryset` + `product_variants_attach`."""
    product = selectors.product_read_queryset(user=user).get(pk=product_id)
    selectors.product_variants_attach([product], user=user)
    return product


@pytest.mark.parametrize("who", ["anonymous", "staff"])
def test_the_one_query_read_equals_the_product_with_its_variants_attached(who, staff_user, rf):
    """`product_read` joins the variants into the product's query: the same output, the same
    variants in id order (inactive ones for staff only), each with its product, and no query more."""
    user = staff_user if who == "staff" else AnonymousUser()
    product = ProductFactory(default_variant=False)
    variants = [
        ProductVariantFactory(product=product, options={"Size": "L"}, price=Decimal("21.50"), stock=0),
        ProductVariantFactory(product=product, options={"Size": "S"}, is_active=False),
        ProductVariantFactory(product=product, options={"Size": "M", "Colour": "Red"}, stock=3),
    ]
    ProductVariantFactory()  # another product's variant
    request = rf.get("/")
    with CaptureQueriesContext(connection) as queries:
        read = selectors.product_read(product_id=str(product.pk), user=user)
        output = product_output(read, request)
    assert len(queries) == 1
    assert output == product_output(_attached(product.pk, user), request)
    shown = [v.pk for v in variants if who == "staff" or v.is_active]
    assert [v.pk for v in read.listed_variants] == sorted(shown)
    assert all(variant.product is read for variant in read.listed_variants)
    assert not [name for name in vars(read) if name.startswith("_variant_")]


def test_a_product_without_a_shown_variant_reads_with_none(api_client):
    product = ProductFactory(default_variant=False)
    ProductVariantFactory(product=product, is_active=False)
    read = selectors.product_read(product_id=product.pk, user=AnonymousUser())
    assert read.pk == product.pk and read.listed_variants == []
    body = api_client.get(f"/api/products/{product.pk}/").json()
    assert body["variants"] == [] and body["id"] == product.pk
