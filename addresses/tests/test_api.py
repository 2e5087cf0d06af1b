"""The address book through HTTP: CRUD, validation, the one-default rules, and other users' rows."""

from datetime import timedelta

import pytest
from django.forms.models import model_to_dict

from addresses.models import Address
from addresses.tests.factories import AddressFactory

pytestmark = pytest.mark.django_db

LIST_URL = "/api/addresses/"
CONTRACT_FIELDS = {
    "id",
    "full_name",
    "phone",
    "line1",
    "line2",
    "city",
    "state",
    "postal_code",
    "country",
    "address_type",
    "is_default",
    "created_at",
}


def detail_url(address_id) -> str:
    return f"/api/addresses/{address_id}/"


def set_default_url(address_id) -> str:
    return f"/api/addresses/{address_id}/set-default/"


def payload(**overrides) -> dict:
    data = {
        "full_name": "Grace Hopper",
        "phone": "+1 (555) 010-0199",
        "line1": "1 Navy Way",
        "line2": "Suite 2",
        "city": "Arlington",
        "state": "VA",
        "postal_code": "22201",
        "country": "us",
        "address_type": "OFFICE",
    }
    data.update(overrides)
    return data


def defaults_of(user) -> list[int]:
    return list(Address.objects.filter(user=user, is_default=True).values_list("pk", flat=True))


def snapshot_row(address: Address) -> dict:
    address.refresh_from_db()
    return {**model_to_dict(address), "created_at": address.created_at, "updated_at": address.updated_at}


# --- Authentication -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", LIST_URL),
        ("post", LIST_URL),
        ("get", "/api/addresses/{id}/"),
        ("put", "/api/addresses/{id}/"),
        ("patch", "/api/addresses/{id}/"),
        ("delete", "/api/addresses/{id}/"),
        ("post", "/api/addresses/{id}/set-default/"),
    ],
)
def test_every_address_endpoint_needs_authentication(api_client, user, method, url):
    address = AddressFactory(user=user, is_default=True)
    before = snapshot_row(address)

    response = getattr(api_client, method)(url.format(id=address.pk), payload(), format="json")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert snapshot_row(address) == before
    assert Address.objects.count() == 1


# --- Create -----------------------------------------------------------------------------------


def test_first_address_becomes_default_and_output_matches_contract(auth_client, user):
    response = auth_client.post(LIST_URL, payload(), format="json")

    assert response.status_code == 201
    body = response.json()
    assert set(body) == CONTRACT_FIELDS
    assert body["is_default"] is True
    assert body["country"] == "US"
    assert body["address_type"] == "OFFICE"
    row = Address.objects.get(pk=body["id"])
    assert row.user == user
    assert row.is_default is True
    assert (row.full_name, row.line1, row.line2, row.city, row.state, row.postal_code, row.country) == (
        "Grace Hopper",
        "1 Navy Way",
        "Suite 2",
        "Arlington",
        "VA",
        "22201",
        "US",
    )


def test_minimal_address_uses_model_defaults(auth_client):
    data = {
        "full_name": "Ada",
        "phone": "5550100199",
        "line1": "2 Loop Rd",
        "city": "London",
        "postal_code": "sw1a  1aa",
    }
    response = auth_client.post(LIST_URL, data, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["line2"] == ""
    assert body["state"] == ""
    assert body["country"] == "US"
    assert body["address_type"] == "HOME"
    assert body["postal_code"] == "SW1A 1AA"


def test_second_address_is_not_default(auth_client, user):
    first = AddressFactory(user=user, is_default=True)

    response = auth_client.post(LIST_URL, payload(), format="json")

    assert response.status_code == 201
    assert response.json()["is_default"] is False
    assert defaults_of(user) == [first.pk]


def test_create_with_is_default_moves_the_default(auth_client, user):
    first = AddressFactory(user=user, is_default=True)

    response = auth_client.post(LIST_URL, payload(is_default=True), format="json")

    assert response.status_code == 201
    assert response.json()["is_default"] is True
    assert defaults_of(user) == [response.json()["id"]]
    first.refresh_from_db()
    assert first.is_default is False


def test_first_address_with_is_default_false_still_becomes_default(auth_client, user):
    response = auth_client.post(LIST_URL, payload(is_default=False), format="json")

    assert response.status_code == 201
    assert response.json()["is_default"] is True
    assert defaults_of(user) == [response.json()["id"]]


def test_other_users_default_is_untouched_by_create(auth_client, other_user):
    theirs = AddressFactory(user=other_user, is_default=True)

    response = auth_client.post(LIST_URL, payload(is_default=True), format="json")

    assert response.status_code == 201
    assert defaults_of(other_user) == [theirs.pk]


def test_district_and_landmark_are_not_part_of_the_canonical_api(auth_client):
    response = auth_client.post(LIST_URL, payload(district="Ignored", landmark="Ignored"), format="json")

    assert response.status_code == 201
    assert "district" not in response.json()
    row = Address.objects.get(pk=response.json()["id"])
    assert (row.district, row.landmark) == ("", "")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"full_name": None}, "full_name"),
        ({"full_name": "   "}, "full_name"),
        ({"full_name": "x" * 121}, "full_name"),
        ({"phone": None}, "phone"),
        ({"phone": "call me"}, "phone"),
        ({"phone": "12345"}, "phone"),
        ({"phone": "+1 555 0100 0100 0100 99"}, "phone"),
        ({"phone": "555-0100 ext. 5"}, "phone"),
        ({"line1": None}, "line1"),
        ({"line1": ""}, "line1"),
        ({"city": None}, "city"),
        ({"postal_code": None}, "postal_code"),
        ({"postal_code": "1"}, "postal_code"),
        ({"postal_code": "12$45"}, "postal_code"),
        ({"postal_code": "-1234"}, "postal_code"),
        ({"postal_code": "1234567890123"}, "postal_code"),
        ({"country": "USA"}, "country"),
        ({"country": "U1"}, "country"),
        ({"country": ""}, "country"),
        ({"address_type": "CASTLE"}, "address_type"),
        ({"address_type": "home"}, "address_type"),
        ({"is_default": "maybe"}, "is_default"),
    ],
)
def test_create_rejects_bad_input(auth_client, user, overrides, field):
    data = {key: value for key, value in payload(**overrides).items() if value is not None}

    response = auth_client.post(LIST_URL, data, format="json")

    assert response.status_code == 400
    body = response.json()
    assert field in body
    assert isinstance(body[field], list)
    assert not Address.objects.filter(user=user).exists()


def test_create_rejects_malformed_json(auth_client, user):
    response = auth_client.post(LIST_URL, data="{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    assert not Address.objects.exists()


def test_create_rejects_a_non_object_body(auth_client):
    response = auth_client.post(LIST_URL, ["not", "an", "object"], format="json")

    assert response.status_code == 400
    assert not Address.objects.exists()


# --- List and retrieve ------------------------------------------------------------------------


def test_list_is_a_plain_array_default_first_then_newest(
    auth_client, user, other_user, django_assert_max_num_queries
):
    oldest_default = AddressFactory(user=user, is_default=True)
    middle = AddressFactory(user=user)
    newest = AddressFactory(user=user)
    AddressFactory(user=other_user, is_default=True)
    # `created_at` decides "newest", not the id.
    Address.objects.filter(pk=middle.pk).update(created_at=newest.created_at + timedelta(minutes=5))

    with django_assert_max_num_queries(2):
        response = auth_client.get(LIST_URL)

    assert response.status_code == 200
    body = response.json()
    assert isinstance(body, list)
    assert [row["id"] for row in body] == [oldest_default.pk, middle.pk, newest.pk]
    assert all(set(row) == CONTRACT_FIELDS for row in body)


def test_list_is_empty_for_a_user_without_addresses(auth_client, other_user):
    AddressFactory(user=other_user, is_default=True)

    response = auth_client.get(LIST_URL)

    assert response.status_code == 200
    assert response.json() == []


def test_retrieve_own_address(auth_client, user):
    address = AddressFactory(user=user, is_default=True)

    response = auth_client.get(detail_url(address.pk))

    assert response.status_code == 200
    assert response.json()["id"] == address.pk
    assert response.json()["line1"] == address.line1


def test_unknown_address_is_404_in_contract_shape(auth_client):
    response = auth_client.get(detail_url(999999))

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert response.json()["detail"]


def test_non_numeric_id_is_404(auth_client):
    assert auth_client.get("/api/addresses/abc/").status_code == 404


# --- Update -------------------------------------------------------------------------------------


def test_put_replaces_the_address(auth_client, user):
    address = AddressFactory(user=user, is_default=True, line2="Old line 2")

    response = auth_client.put(detail_url(address.pk), payload(line2="", country="in"), format="json")

    assert response.status_code == 200
    body = response.json()
    assert body["full_name"] == "Grace Hopper"
    assert body["country"] == "IN"
    assert body["is_default"] is True
    address.refresh_from_db()
    assert (address.full_name, address.line2, address.country, address.address_type) == (
        "Grace Hopper",
        "",
        "IN",
        "OFFICE",
    )


def test_put_needs_every_required_field(auth_client, user):
    address = AddressFactory(user=user, is_default=True)
    before = snapshot_row(address)
    data = payload()
    del data["city"]

    response = auth_client.put(detail_url(address.pk), data, format="json")

    assert response.status_code == 400
    assert "city" in response.json()
    assert snapshot_row(address) == before


def test_patch_changes_only_the_given_fields(auth_client, user):
    address = AddressFactory(user=user, is_default=True)

    response = auth_client.patch(detail_url(address.pk), {"city": "Shelbyville"}, format="json")

    assert response.status_code == 200
    assert response.json()["city"] == "Shelbyville"
    address.refresh_from_db()
    assert address.city == "Shelbyville"
    assert address.full_name == "Ada Lovelace"
    assert address.is_default is True


def test_patch_rejects_bad_values_and_leaves_the_row(auth_client, user):
    address = AddressFactory(user=user, is_default=True)
    before = snapshot_row(address)

    response = auth_client.patch(detail_url(address.pk), {"phone": "nope", "city": "X"}, format="json")

    assert response.status_code == 400
    assert "phone" in response.json()
    assert snapshot_row(address) == before


def test_patch_is_default_true_moves_the_default(auth_client, user):
    old_default = AddressFactory(user=user, is_default=True)
    other = AddressFactory(user=user)

    response = auth_client.patch(detail_url(other.pk), {"is_default": True}, format="json")

    assert response.status_code == 200
    assert response.json()["is_default"] is True
    assert defaults_of(user) == [other.pk]
    old_default.refresh_from_db()
    assert old_default.is_default is False


def test_patch_is_default_false_on_the_default_is_refused(auth_client, user):
    default = AddressFactory(user=user, is_default=True)
    AddressFactory(user=user)
    before = snapshot_row(default)

    response = auth_client.patch(
        detail_url(default.pk), {"is_default": False, "city": "Elsewhere"}, format="json"
    )

    assert response.status_code == 400
    assert "is_default" in response.json()
    assert snapshot_row(default) == before
    assert defaults_of(user) == [default.pk]


def test_patch_is_default_false_on_a_non_default_is_harmless(auth_client, user):
    default = AddressFactory(user=user, is_default=True)
    other = AddressFactory(user=user)

    response = auth_client.patch(detail_url(other.pk), {"is_default": False}, format="json")

    assert response.status_code == 200
    assert response.json()["is_default"] is False
    assert defaults_of(user) == [default.pk]


# --- Delete -------------------------------------------------------------------------------------


def test_delete_a_non_default_keeps_the_default(auth_client, user):
    default = AddressFactory(user=user, is_default=True)
    other = AddressFactory(user=user)

    response = auth_client.delete(detail_url(other.pk))

    assert response.status_code == 204
    assert not Address.objects.filter(pk=other.pk).exists()
    assert defaults_of(user) == [default.pk]


def test_delete_the_default_promotes_the_newest_remaining(auth_client, user, other_user):
    default = AddressFactory(user=user, is_default=True)
    newest_by_date = AddressFactory(user=user)
    highest_id = AddressFactory(user=user)
    theirs = AddressFactory(user=other_user, is_default=True)
    Address.objects.filter(pk=newest_by_date.pk).update(created_at=highest_id.created_at + timedelta(hours=1))

    response = auth_client.delete(detail_url(default.pk))

    assert response.status_code == 204
    assert not Address.objects.filter(pk=default.pk).exists()
    assert defaults_of(user) == [newest_by_date.pk]
    assert defaults_of(other_user) == [theirs.pk]


def test_delete_the_only_address_leaves_none(auth_client, user):
    only = AddressFactory(user=user, is_default=True)

    response = auth_client.delete(detail_url(only.pk))

    assert response.status_code == 204
    assert not Address.objects.filter(user=user).exists()


def test_after_deleting_everything_the_next_address_is_default_again(auth_client, user):
    only = AddressFactory(user=user, is_default=True)
    auth_client.delete(detail_url(only.pk))

    response = auth_client.post(LIST_URL, payload(), format="json")

    assert response.json()["is_default"] is True


# --- Set default --------------------------------------------------------------------------------


def test_set_default_moves_the_default(auth_client, user):
    old_default = AddressFactory(user=user, is_default=True)
    target = AddressFactory(user=user)

    response = auth_client.post(set_default_url(target.pk))

    assert response.status_code == 200
    body = response.json()
    assert set(body) == CONTRACT_FIELDS
    assert body["id"] == target.pk
    assert body["is_default"] is True
    assert defaults_of(user) == [target.pk]
    old_default.refresh_from_db()
    assert old_default.is_default is False


def test_set_default_on_the_current_default_is_a_no_op(auth_client, user):
    default = AddressFactory(user=user, is_default=True)
    AddressFactory(user=user)

    response = auth_client.post(set_default_url(default.pk))

    assert response.status_code == 200
    assert response.json()["is_default"] is True
    assert defaults_of(user) == [default.pk]


def test_set_default_of_a_missing_address_is_404(auth_client, user):
    default = AddressFactory(user=user, is_default=True)

    response = auth_client.post(set_default_url(default.pk + 1000))

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert defaults_of(user) == [default.pk]


def test_list_puts_the_new_default_first(auth_client, user):
    AddressFactory(user=user, is_default=True)
    target = AddressFactory(user=user)
    auth_client.post(set_default_url(target.pk))

    assert auth_client.get(LIST_URL).json()[0]["id"] == target.pk


# --- Another user's address (IDOR) --------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url", "data"),
    [
        ("get", "/api/addresses/{id}/", None),
        ("put", "/api/addresses/{id}/", payload()),
        ("patch", "/api/addresses/{id}/", {"city": "Stolen", "is_default": True}),
        ("delete", "/api/addresses/{id}/", None),
        ("post", "/api/addresses/{id}/set-default/", None),
    ],
)
def test_another_users_address_is_404_and_unchanged(other_client, other_user, user, method, url, data):
    mine_default = AddressFactory(user=user, is_default=True)
    mine_other = AddressFactory(user=user)
    theirs = AddressFactory(user=other_user, is_default=True)
    before = {a.pk: snapshot_row(a) for a in (mine_default, mine_other, theirs)}

    for target in (mine_default, mine_other):
        response = getattr(other_client, method)(url.format(id=target.pk), data, format="json")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
        assert "line1" not in response.json()

    assert {a.pk: snapshot_row(a) for a in (mine_default, mine_other, theirs)} == before
    assert defaults_of(user) == [mine_default.pk]
    assert defaults_of(other_user) == [theirs.pk]


def test_another_users_addresses_are_not_listed(other_client, user):
    AddressFactory(user=user, is_default=True)

    assert other_client.get(LIST_URL).json() == []
