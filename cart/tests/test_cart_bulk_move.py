from unittest import mock

import pytest

from cart.models import CartItem
from core.exceptions import ApplicationError
from products.models import WishlistItem
from products.tests.factories import ProductFactory, WishlistItemFactory

pytestmark = pytest.mark.django_db

URL = "/api/cart/bulk-move-to-wishlist/"


def _exists(item) -> bool:
    return CartItem.objects.filter(pk=item.pk).exists()


def _wishlist(user) -> set[int]:
    return set(WishlistItem.objects.filter(user=user).values_list("product_id", flat=True))


def test_anonymous_is_401(api_client, user, line_for):
    item = line_for(user)
    assert api_client.post(URL, {"item_ids": [item.pk]}, format="json").status_code == 401
    assert _exists(item)
    assert _wishlist(user) == set()


def test_moves_lines_to_the_wishlist(auth_client, user, line_for):
    a, b, kept = line_for(user, quantity=2), line_for(user), line_for(user)
    response = auth_client.post(URL, {"item_ids": [a.pk, b.pk]}, format="json")
    assert response.status_code == 200
    assert [line["id"] for line in response.json()["items"]] == [kept.pk]
    assert not _exists(a)
    assert not _exists(b)
    assert _exists(kept)
    assert _wishlist(user) == {a.product_id, b.product_id}


def test_product_already_in_the_wishlist_is_not_duplicated(auth_client, user, line_for):
    item = line_for(user)
    WishlistItemFactory(user=user, product=item.product)
    response = auth_client.post(URL, {"item_ids": [item.pk]}, format="json")
    assert response.status_code == 200
    assert WishlistItem.objects.filter(user=user, product=item.product).count() == 1
    assert not _exists(item)


def test_other_users_id_is_404_and_nothing_moves(auth_client, user, other_user, line_for):
    mine = line_for(user)
    theirs = line_for(other_user, quantity=3)
    response = auth_client.post(URL, {"item_ids": [mine.pk, theirs.pk]}, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert _exists(mine)
    assert CartItem.objects.get(pk=theirs.pk).quantity == 3
    assert _wishlist(user) == set()
    assert _wishlist(other_user) == set()


def test_unknown_id_is_404_and_nothing_moves(auth_client, user, line_for):
    mine = line_for(user)
    response = auth_client.post(URL, {"item_ids": [mine.pk, 999999]}, format="json")
    assert response.status_code == 404
    assert _exists(mine)
    assert _wishlist(user) == set()


def test_inactive_product_is_409_and_nothing_moves(auth_client, user, line_for):
    fine = line_for(user)
    gone = line_for(user, product=ProductFactory(is_active=False))
    response = auth_client.post(URL, {"item_ids": [fine.pk, gone.pk]}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "product_unavailable"
    assert response.json()["product_id"] == gone.product_id
    assert _exists(fine)
    assert _exists(gone)
    assert _wishlist(user) == set()


def test_failure_midway_rolls_everything_back(auth_client, user, line_for):
    """The second wishlist add fails after the first one wrote its row: nothing is kept."""
    a, b = line_for(user), line_for(user)
    from products import services as product_services

    real = product_services.wishlist_item_add
    calls = []

    def flaky(*, user, product_id):
        calls.append(product_id)
        if len(calls) == 2:
            assert _wishlist(user) == {calls[0]}  # the first move did write
            raise ApplicationError("Wishlist is full.", code="wishlist_full", status_code=409)
        return real(user=user, product_id=product_id)

    with mock.patch.object(product_services, "wishlist_item_add", flaky):
        response = auth_client.post(URL, {"item_ids": [a.pk, b.pk]}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "wishlist_full"
    assert len(calls) == 2
    assert _exists(a)
    assert _exists(b)
    assert _wishlist(user) == set()


@pytest.mark.parametrize(
    "payload",
    [{}, {"item_ids": []}, {"item_ids": ["x"]}, {"item_ids": 5}, {"item_ids": [-3]}],
)
def test_invalid_input_is_400(auth_client, user, line_for, payload):
    item = line_for(user)
    response = auth_client.post(URL, payload, format="json")
    assert response.status_code == 400
    assert "item_ids" in response.json()
    assert _exists(item)
    assert _wishlist(user) == set()
