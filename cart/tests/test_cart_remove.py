import pytest

from cart.models import Cart, CartItem

pytestmark = pytest.mark.django_db

CLEAR_URL = "/api/cart/clear/"
BULK_URL = "/api/cart/bulk-remove/"


def remove_url(item_id) -> str:
    return f"/api/cart/remove/{item_id}/"


def _exists(item) -> bool:
    return CartItem.objects.filter(pk=item.pk).exists()


# --- DELETE /api/cart/remove/<item_id>/ -------------------------------------------------------


def test_remove_anonymous_is_401(api_client, user, line_for):
    item = line_for(user)
    assert api_client.delete(remove_url(item.pk)).status_code == 401
    assert _exists(item)


def test_remove_one_line(auth_client, user, line_for):
    gone = line_for(user, quantity=2)
    kept = line_for(user, quantity=1)
    response = auth_client.delete(remove_url(gone.pk))
    assert response.status_code == 200
    assert [line["id"] for line in response.json()["items"]] == [kept.pk]
    assert response.json()["total_items"] == 1
    assert not _exists(gone)
    assert _exists(kept)


def test_remove_other_users_line_is_404_and_unchanged(auth_client, user, other_user, line_for):
    mine = line_for(user)
    theirs = line_for(other_user, quantity=3)
    response = auth_client.delete(remove_url(theirs.pk))
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert CartItem.objects.get(pk=theirs.pk).quantity == 3
    assert _exists(mine)


@pytest.mark.parametrize("item_id", ["424242", "x1", str(10**20), "%C2%B2"])
def test_remove_unknown_id_is_404(auth_client, user, line_for, item_id):
    item = line_for(user)
    response = auth_client.delete(remove_url(item_id))
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert _exists(item)


def test_remove_twice_is_404_the_second_time(auth_client, user, line_for):
    item = line_for(user)
    assert auth_client.delete(remove_url(item.pk)).status_code == 200
    assert auth_client.delete(remove_url(item.pk)).status_code == 404


# --- DELETE /api/cart/clear/ ------------------------------------------------------------------


def test_clear_anonymous_is_401(api_client, user, line_for):
    item = line_for(user)
    assert api_client.delete(CLEAR_URL).status_code == 401
    assert _exists(item)


def test_clear_empties_only_the_callers_cart(auth_client, user, other_user, line_for):
    line_for(user)
    line_for(user)
    theirs = line_for(other_user)
    response = auth_client.delete(CLEAR_URL)
    assert response.status_code == 200
    body = response.json()
    assert body["items"] == []
    assert body["total_items"] == 0
    assert body["subtotal"] == "0.00"
    assert not CartItem.objects.filter(cart__user=user).exists()
    assert _exists(theirs)
    assert Cart.objects.filter(user=user).exists()  # the cart stays, empty


def test_clear_without_a_cart_is_200(auth_client, user):
    response = auth_client.delete(CLEAR_URL)
    assert response.status_code == 200
    assert response.json()["items"] == []


# --- POST /api/cart/bulk-remove/ --------------------------------------------------------------


def test_bulk_remove_anonymous_is_401(api_client, user, line_for):
    item = line_for(user)
    assert api_client.post(BULK_URL, {"item_ids": [item.pk]}, format="json").status_code == 401
    assert _exists(item)


def test_bulk_remove(auth_client, user, line_for):
    a, b, c = line_for(user), line_for(user), line_for(user)
    response = auth_client.post(BULK_URL, {"item_ids": [a.pk, c.pk, a.pk]}, format="json")
    assert response.status_code == 200
    assert [line["id"] for line in response.json()["items"]] == [b.pk]
    assert not _exists(a)
    assert not _exists(c)
    assert _exists(b)


def test_bulk_remove_ignores_unknown_and_other_users_ids(auth_client, user, other_user, line_for):
    mine = line_for(user)
    kept = line_for(user)
    theirs = line_for(other_user, quantity=4)
    response = auth_client.post(BULK_URL, {"item_ids": [mine.pk, theirs.pk, 999999]}, format="json")
    assert response.status_code == 200
    assert [line["id"] for line in response.json()["items"]] == [kept.pk]
    assert not _exists(mine)
    assert CartItem.objects.get(pk=theirs.pk).quantity == 4


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"item_ids": []},
        {"item_ids": "1,2"},
        {"item_ids": ["a"]},
        {"item_ids": [0]},
        {"item_ids": [None]},
        {"item_ids": [10**20]},
        {"item_ids": list(range(1, 502))},
    ],
)
def test_bulk_remove_invalid_input_is_400(auth_client, user, line_for, payload):
    item = line_for(user)
    response = auth_client.post(BULK_URL, payload, format="json")
    assert response.status_code == 400
    assert "item_ids" in response.json()
    assert _exists(item)
