"""Concurrent writes to one user's address book, with real threads and connections on PostgreSQL."""

import pytest

from addresses.models import Address
from addresses.tests.factories import AddressFactory
from conftest import client_for, run_together
from users.tests.factories import UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_concurrently(calls):
    """Start every call at once, each in its own thread (own DB connection); return the responses."""
    responses = run_together(len(calls), lambda i: calls[i]())
    errors = [response for response in responses if isinstance(response, Exception)]
    assert not errors, errors
    return responses


def address_payload(n: int, **extra) -> dict:
    return {
        "full_name": f"Person {n}",
        "phone": "+15555550100",
        "line1": f"{n} Race Street",
        "city": "Springfield",
        "postal_code": "62701",
        **extra,
    }


@pytest.mark.parametrize("threads", [2, 8])
def test_concurrent_set_default_always_ends_with_exactly_one_default(user, other_user, threads):
    addresses = [AddressFactory(user=user, is_default=(i == 0)) for i in range(threads)]
    theirs = AddressFactory(user=other_user, is_default=True)
    clients = [client_for(user) for _ in range(threads)]  # tokens are written here, not in the threads

    for _round in range(3):
        responses = run_concurrently(
            [
                (lambda c=client, a=address: c.post(f"/api/addresses/{a.pk}/set-default/"))
                for client, address in zip(clients, reversed(addresses), strict=True)
            ]
        )

        assert [r.status_code for r in responses] == [200] * threads
        assert all(r.json()["is_default"] is True for r in responses)
        defaults = list(Address.objects.filter(user=user, is_default=True).values_list("pk", flat=True))
        assert len(defaults) == 1
        assert defaults[0] in {a.pk for a in addresses}
    assert list(Address.objects.filter(user=other_user, is_default=True).values_list("pk", flat=True)) == [
        theirs.pk
    ]


def test_concurrent_first_addresses_make_exactly_one_default():
    # A user without addresses has no row to lock: the race is on the unique index itself.
    for _round in range(4):
        user = UserFactory()
        clients = [client_for(user) for _ in range(5)]

        responses = run_concurrently(
            [
                (lambda c=client, n=n: c.post("/api/addresses/", address_payload(n), format="json"))
                for n, client in enumerate(clients)
            ]
        )

        assert [r.status_code for r in responses] == [201] * 5
        assert Address.objects.filter(user=user).count() == 5
        assert Address.objects.filter(user=user, is_default=True).count() == 1
        assert sum(r.json()["is_default"] for r in responses) == 1


def test_mixed_concurrent_writes_keep_exactly_one_default(user):
    default = AddressFactory(user=user, is_default=True)
    others = [AddressFactory(user=user) for _ in range(4)]
    clients = [client_for(user) for _ in range(8)]

    calls = [
        lambda: clients[0].delete(f"/api/addresses/{default.pk}/"),
        lambda: clients[1].post(f"/api/addresses/{others[0].pk}/set-default/"),
        lambda: clients[2].post(f"/api/addresses/{others[1].pk}/set-default/"),
        lambda: clients[3].patch(f"/api/addresses/{others[2].pk}/", {"is_default": True}, format="json"),
        lambda: clients[4].post("/api/addresses/", address_payload(100, is_default=True), format="json"),
        lambda: clients[5].post("/api/addresses/", address_payload(101), format="json"),
        lambda: clients[6].delete(f"/api/addresses/{others[3].pk}/"),
        lambda: clients[7].post(f"/api/addresses/{others[3].pk}/set-default/"),
    ]
    responses = run_concurrently(calls)

    statuses = [r.status_code for r in responses]
    assert statuses[:7] == [204, 200, 200, 200, 201, 201, 204]
    # Setting as default an address deleted at the same moment: either it won the race (and was then
    # deleted, the default moving to the newest remaining) or it came second and found nothing.
    assert statuses[7] in (200, 404)
    assert Address.objects.filter(user=user).count() == 5
    assert Address.objects.filter(user=user, is_default=True).count() == 1
