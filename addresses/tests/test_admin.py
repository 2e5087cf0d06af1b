"""The Django admin for addresses goes through the same services (one default per user holds there too)."""

import pytest
from django.test import Client

from addresses.models import Address
from addresses.tests.factories import AddressFactory
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/addresses/address/"


@pytest.fixture
def admin_client_() -> Client:
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def form_data(**overrides) -> dict:
    data = {
        "full_name": "Admin Made",
        "phone": "+15555550123",
        "line1": "9 Admin Street",
        "line2": "",
        "landmark": "",
        "city": "Springfield",
        "district": "",
        "state": "IL",
        "postal_code": "62701",
        "country": "US",
        "address_type": "HOME",
    }
    data.update(overrides)
    return data


def test_changelist_search_by_user_email_and_filters(admin_client_, user, other_user):
    mine = AddressFactory(user=user, is_default=True, city="Ogdenville")
    AddressFactory(user=other_user, is_default=True, city="North Haverbrook")

    response = admin_client_.get(CHANGELIST, {"q": user.email})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [mine]

    response = admin_client_.get(CHANGELIST, {"q": "Haverbrook"})
    assert [a.city for a in response.context["cl"].result_list] == ["North Haverbrook"]

    response = admin_client_.get(CHANGELIST, {"is_default__exact": "1", "address_type__exact": "HOME"})
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 2


def test_admin_add_makes_the_first_address_default(admin_client_, user):
    response = admin_client_.post("/admin/addresses/address/add/", form_data(user=user.pk))

    assert response.status_code == 302, response.content
    address = Address.objects.get(user=user)
    assert address.is_default is True
    assert address.full_name == "Admin Made"


def test_admin_edit_keeps_the_default(admin_client_, user):
    address = AddressFactory(user=user, is_default=True)

    response = admin_client_.post(
        f"/admin/addresses/address/{address.pk}/change/", form_data(city="Capital City")
    )

    assert response.status_code == 302, response.content
    address.refresh_from_db()
    assert (address.city, address.is_default, address.user) == ("Capital City", True, user)


def test_admin_make_default_action(admin_client_, user):
    old_default = AddressFactory(user=user, is_default=True)
    target = AddressFactory(user=user)

    response = admin_client_.post(CHANGELIST, {"action": "make_default", "_selected_action": [target.pk]})

    assert response.status_code == 302
    target.refresh_from_db()
    old_default.refresh_from_db()
    assert (target.is_default, old_default.is_default) == (True, False)


def test_admin_make_default_action_needs_exactly_one(admin_client_, user):
    old_default = AddressFactory(user=user, is_default=True)
    a, b = AddressFactory(user=user), AddressFactory(user=user)

    admin_client_.post(CHANGELIST, {"action": "make_default", "_selected_action": [a.pk, b.pk]})

    assert list(Address.objects.filter(is_default=True)) == [old_default]


def test_admin_bulk_delete_promotes_a_remaining_address(admin_client_, user):
    default = AddressFactory(user=user, is_default=True)
    second = AddressFactory(user=user)
    keep = AddressFactory(user=user)

    response = admin_client_.post(
        CHANGELIST,
        {"action": "delete_selected", "_selected_action": [default.pk, second.pk], "post": "yes"},
    )

    assert response.status_code == 302
    assert list(Address.objects.filter(user=user)) == [keep]
    keep.refresh_from_db()
    assert keep.is_default is True


@pytest.mark.parametrize(("field", "value"), [("phone", "abc"), ("postal_code", "!!"), ("country", "USA1")])
def test_admin_applies_the_apis_field_rules(admin_client_, user, field, value):
    response = admin_client_.post("/admin/addresses/address/add/", form_data(user=user.pk, **{field: value}))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors[field]
    assert not Address.objects.exists()


def test_admin_normalises_like_the_api(admin_client_, user):
    response = admin_client_.post(
        "/admin/addresses/address/add/", form_data(user=user.pk, postal_code=" sw1a  1aa ", country="gb")
    )
    assert response.status_code == 302, response.content
    address = Address.objects.get(user=user)
    assert (address.postal_code, address.country) == ("SW1A 1AA", "GB")
