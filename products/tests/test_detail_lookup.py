"""`GET /api/products/<id>/` reads its product with a prepared query (`selectors.product_read`):
every id the ORM lookup found is found, everything else is the contract's 404, never a 500."""

import pytest

from products.tests.factories import ProductFactory

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
