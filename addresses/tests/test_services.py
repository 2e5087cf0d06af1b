"""Services and selectors called directly (the seam the orders app and the admin use), and the constraint."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from addresses import selectors, services
from addresses.models import Address
from addresses.tests.factories import AddressFactory
from core.exceptions import NotFound

pytestmark = pytest.mark.django_db

FIELDS = {
    "full_name": "Ada Lovelace",
    "phone": "+15555550100",
    "line1": "1 Analytical Row",
    "city": "London",
    "postal_code": "N1 9GU",
    "country": "GB",
}


def test_database_refuses_two_defaults_for_one_user(user):
    AddressFactory(user=user, is_default=True)

    with pytest.raises(IntegrityError), transaction.atomic():
        AddressFactory(user=user, is_default=True)

    assert Address.objects.filter(user=user, is_default=True).count() == 1


def test_database_allows_one_default_per_user_and_many_non_defaults(user, other_user):
    AddressFactory(user=user, is_default=True)
    AddressFactory(user=user, is_default=False)
    AddressFactory(user=user, is_default=False)
    AddressFactory(user=other_user, is_default=True)

    assert Address.objects.filter(is_default=True).count() == 2


def test_address_create_first_is_default_and_later_ones_are_not(user):
    first = services.address_create(user=user, **FIELDS)
    second = services.address_create(user=user, **FIELDS)

    assert first.is_default is True
    assert second.is_default is False


def test_address_create_rejects_unknown_fields(user):
    with pytest.raises(TypeError):
        services.address_create(user=user, is_staff=True, **FIELDS)
    assert not Address.objects.exists()


def test_address_create_accepts_storefront_fields(user):
    address = services.address_create(user=user, district="Islington", landmark="Near the canal", **FIELDS)

    address.refresh_from_db()
    assert (address.district, address.landmark) == ("Islington", "Near the canal")


def test_address_update_refuses_to_unset_the_default(user):
    default = services.address_create(user=user, **FIELDS)

    with pytest.raises(ValidationError) as excinfo:
        services.address_update(address=default, is_default=False, city="Paris")

    assert "is_default" in excinfo.value.message_dict
    default.refresh_from_db()
    assert (default.is_default, default.city) == (True, "London")


def test_address_update_of_a_deleted_address_is_not_found(user):
    address = services.address_create(user=user, **FIELDS)
    Address.objects.filter(pk=address.pk).delete()

    with pytest.raises(NotFound):
        services.address_update(address=address, city="Paris")


def test_address_set_default_of_another_users_address_is_not_found(user, other_user):
    mine = services.address_create(user=user, **FIELDS)
    services.address_create(user=other_user, **FIELDS)
    theirs = services.address_create(user=other_user, **FIELDS)

    with pytest.raises(NotFound):
        services.address_set_default(user=user, address_id=theirs.pk)

    theirs.refresh_from_db()
    mine.refresh_from_db()
    assert theirs.is_default is False
    assert mine.is_default is True


def test_address_delete_twice_is_not_found_the_second_time(user):
    address = services.address_create(user=user, **FIELDS)
    services.address_delete(address=address)

    with pytest.raises(NotFound):
        services.address_delete(address=address)


def test_selector_get_for_user(user, other_user):
    mine = AddressFactory(user=user, is_default=True)
    theirs = AddressFactory(user=other_user, is_default=True)

    assert selectors.address_get_for_user(user=user, address_id=mine.pk) == mine
    assert selectors.address_get_for_user(user=user, address_id=str(mine.pk)) == mine
    for address_id in (theirs.pk, 987654, "abc", None):
        with pytest.raises(NotFound):
            selectors.address_get_for_user(user=user, address_id=address_id)


def test_selector_get_for_anonymous_is_not_found(user):
    from django.contrib.auth.models import AnonymousUser

    mine = AddressFactory(user=user, is_default=True)

    with pytest.raises(NotFound):
        selectors.address_get_for_user(user=AnonymousUser(), address_id=mine.pk)


def test_selector_list_only_the_users_rows_default_first(user, other_user):
    older = AddressFactory(user=user, is_default=True)
    newer = AddressFactory(user=user)
    AddressFactory(user=other_user, is_default=True)

    assert list(selectors.address_list(user=user)) == [older, newer]


def test_snapshot_is_a_plain_copy_that_does_not_follow_later_edits(user):
    address = services.address_create(
        user=user, district="Islington", landmark="Canal", line2="Flat 3", **FIELDS
    )

    snapshot = selectors.address_snapshot(address=address)
    services.address_update(address=address, city="Paris")

    assert snapshot == {
        "full_name": "Ada Lovelace",
        "phone": "+15555550100",
        "line1": "1 Analytical Row",
        "line2": "Flat 3",
        "city": "London",
        "district": "Islington",
        "state": "",
        "postal_code": "N1 9GU",
        "country": "GB",
        "landmark": "Canal",
        "address_type": "HOME",
    }
