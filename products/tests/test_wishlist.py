"""/api/products/wishlist/: list, idempotent add, remove, other users' rows, concurrency."""

import pytest

from conftest import run_together
from core.exceptions import NotFound
from products import services
from products.models import WishlistItem
from products.tests.factories import ProductFactory, WishlistItemFactory
from products.tests.queries import variants_queries

URL = "/api/products/wishlist/"


@pytest.mark.django_db
def test_wishlist_needs_authentication(api_client):
    product = ProductFactory()
    assert api_client.get(URL).status_code == 401
    assert api_client.post(URL, {"product_id": product.pk}, format="json").status_code == 401
    item = WishlistItemFactory(product=product)
    assert api_client.delete(f"{URL}{item.pk}/").status_code == 401
    assert WishlistItem.objects.filter(pk=item.pk).exists()


@pytest.mark.django_db
def test_add_then_add_again_is_idempotent(auth_client, user):
    product = ProductFactory(name="Lamp")

    first = auth_client.post(URL, {"product_id": product.pk}, format="json")
    assert first.status_code == 201
    body = first.json()
    assert set(body) == {"id", "product", "added_at"}
    assert body["product"]["id"] == product.pk
    assert body["product"]["name"] == "Lamp"
    assert body["product"]["price"] == "19.99"

    second = auth_client.post(URL, {"product_id": product.pk}, format="json")
    assert second.status_code == 200
    assert second.json()["id"] == body["id"]
    assert WishlistItem.objects.filter(user=user, product=product).count() == 1


@pytest.mark.django_db
def test_list_is_plain_array_newest_first_with_fixed_queries(auth_client, user, django_assert_num_queries):
    products = ProductFactory.create_batch(6)
    for product in products:
        auth_client.post(URL, {"product_id": product.pk}, format="json")
    WishlistItemFactory()  # someone else's

    # the user (JWT) + one joined query + the variants (inside the joined query on PostgreSQL)
    with django_assert_num_queries(2 + variants_queries()):
        response = auth_client.get(URL)

    assert response.status_code == 200
    body = response.json()
    assert isinstance(body, list)
    assert all(len(row["product"]["variants"]) == 1 for row in body)
    assert [row["product"]["id"] for row in body] == [p.pk for p in reversed(products)]
    assert body[0]["product"]["category"]["slug"] == products[-1].category.slug


@pytest.mark.django_db
def test_list_shows_own_rows_only(auth_client, other_client):
    product = ProductFactory()
    other_client.post(URL, {"product_id": product.pk}, format="json")
    assert auth_client.get(URL).json() == []


@pytest.mark.django_db
@pytest.mark.parametrize("product_id", [424242, "inactive"])
def test_add_missing_or_inactive_product_is_404(auth_client, user, product_id):
    if product_id == "inactive":
        product_id = ProductFactory(is_active=False).pk
    response = auth_client.post(URL, {"product_id": product_id}, format="json")
    assert response.status_code == 404
    assert response.json() == {"detail": "Product not found.", "code": "not_found"}
    assert not WishlistItem.objects.filter(user=user).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("payload", [{}, {"product_id": "abc"}, {"product_id": 0}, {"product_id": 2**70}])
def test_add_bad_input_is_400(auth_client, payload):
    response = auth_client.post(URL, payload, format="json")
    assert response.status_code == 400
    assert "product_id" in response.json()


@pytest.mark.django_db
def test_remove_own_row(auth_client, user):
    item = WishlistItemFactory(user=user)
    response = auth_client.delete(f"{URL}{item.pk}/")
    assert response.status_code == 204
    assert not WishlistItem.objects.filter(pk=item.pk).exists()
    # Gone now: a second delete is 404.
    assert auth_client.delete(f"{URL}{item.pk}/").status_code == 404


@pytest.mark.django_db
def test_remove_other_users_row_is_404_and_keeps_it(auth_client, other_user):
    item = WishlistItemFactory(user=other_user)
    response = auth_client.delete(f"{URL}{item.pk}/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert WishlistItem.objects.filter(pk=item.pk, user=other_user).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("item_id", ["abc", "99999999999999999999999", "424242"])
def test_remove_unknown_or_malformed_id_is_404(auth_client, item_id):
    assert auth_client.delete(f"{URL}{item_id}/").status_code == 404


@pytest.mark.django_db
def test_wishlist_route_is_not_a_product_detail(staff_client):
    # Staff may GET any product id; "wishlist" must still reach the wishlist view.
    response = staff_client.get(URL)
    assert response.status_code == 200
    assert response.json() == []


@pytest.mark.django_db
def test_inactive_product_stays_listed_with_its_flag(auth_client, user):
    product = ProductFactory()
    WishlistItemFactory(user=user, product=product)
    product.is_active = False
    product.save()
    body = auth_client.get(URL).json()
    assert [row["product"]["is_active"] for row in body] == [False]


@pytest.mark.django_db
def test_service_add_and_remove(user, other_user):
    product = ProductFactory()
    item, created = services.wishlist_item_add(user=user, product_id=product.pk)
    assert created is True
    again, created = services.wishlist_item_add(user=user, product_id=product.pk)
    assert (again.pk, created) == (item.pk, False)
    with pytest.raises(NotFound):
        services.wishlist_item_remove(user=other_user, item_id=item.pk)
    services.wishlist_item_remove(user=user, item_id=item.pk)
    assert not WishlistItem.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_adds_make_one_row_and_no_error(user):
    product = ProductFactory()
    threads_count = 6

    outcomes = run_together(
        threads_count, lambda i: services.wishlist_item_add(user=user, product_id=product.pk), join=30
    )

    errors = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    assert errors == []
    results = [created for _item, created in outcomes]
    assert sorted(results) == [False] * (threads_count - 1) + [True]
    assert WishlistItem.objects.filter(user=user, product=product).count() == 1
