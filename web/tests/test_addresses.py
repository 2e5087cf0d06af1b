"""Addresses through the storefront profile: its field names mapped onto our Address, and the
pincode lookup (public: a `Bearer null` header is anonymous)."""

import json
from http.server import BaseHTTPRequestHandler

import pytest

from addresses.models import Address
from addresses.tests.factories import AddressFactory
from conftest import loopback_http_server

from .conftest import BEARER_NULL, url

pytestmark = pytest.mark.django_db

ADDRESS_KEYS = {
    "id",
    "name",
    "mobile",
    "pincode",
    "house_number",
    "address",
    "town",
    "district",
    "state",
    "address_type",
    "is_default",
    "location",
}

# What the storefront's address form posts (it sends the looked-up city as `district`).
FORM = {
    "name": "Ada Lovelace",
    "mobile": "9876543210",
    "pincode": "560001",
    "house_number": "Flat 4, Tower B",
    "address": "MG Road",
    "town": "Shivajinagar",
    "district": "Bangalore",
    "state": "Karnataka",
    "address_type": "HOME",
    "is_default": False,
}


def test_list_maps_our_fields_to_the_storefronts(auth_client, address):
    response = auth_client.get(url("/addresses/"))

    assert response.status_code == 200
    body = response.json()
    assert isinstance(body, list) and len(body) == 1
    assert body[0] == {
        "id": address.pk,
        "name": "Ada Lovelace",
        "mobile": "9876543210",
        "pincode": "560001",
        "house_number": "221B",
        "address": "Baker Street",
        "town": "Marylebone",
        "district": "London",
        "state": "Greater London",
        "address_type": "HOME",
        "is_default": True,
        "location": "Near the museum",
    }


def test_list_default_first_and_only_the_callers(auth_client, user, other_user):
    AddressFactory(user=other_user, is_default=True)
    old_default = AddressFactory(user=user, is_default=True)
    newer = AddressFactory(user=user)

    body = auth_client.get(url("/addresses/")).json()

    assert [a["id"] for a in body] == [old_default.pk, newer.pk]


def test_create_maps_the_storefront_form_onto_our_address(auth_client, user):
    response = auth_client.post(url("/addresses/"), {**FORM, "location": "Opposite the park"}, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == ADDRESS_KEYS
    address = Address.objects.get(user=user)
    assert body["id"] == address.pk
    assert (
        address.full_name,
        address.phone,
        address.postal_code,
        address.line1,
        address.line2,
        address.city,
        address.district,
        address.state,
        address.landmark,
        address.address_type,
    ) == (
        "Ada Lovelace",
        "9876543210",
        "560001",
        "Flat 4, Tower B",
        "MG Road",
        "Shivajinagar",
        "Bangalore",
        "Karnataka",
        "Opposite the park",
        "HOME",
    )
    assert address.country == Address._meta.get_field("country").default
    assert address.is_default is True  # the first address becomes the default
    assert body["is_default"] is True and body["location"] == "Opposite the park"


def test_create_without_town_takes_the_district_as_city(auth_client, user):
    response = auth_client.post(url("/addresses/"), {**FORM, "town": ""}, format="json")
    assert response.status_code == 201, response.content
    address = Address.objects.get(user=user)
    assert address.city == "Bangalore" and address.district == "Bangalore"


@pytest.mark.parametrize("value", ["office", "Office", "OFFICE"])
def test_address_type_any_case(auth_client, user, value):
    response = auth_client.post(url("/addresses/"), {**FORM, "address_type": value}, format="json")
    assert response.status_code == 201
    assert Address.objects.get(user=user).address_type == "OFFICE"
    assert response.json()["address_type"] == "OFFICE"


def test_is_default_moves_the_default(auth_client, user, address):
    response = auth_client.post(url("/addresses/"), {**FORM, "is_default": True}, format="json")
    assert response.status_code == 201
    address.refresh_from_db()
    assert address.is_default is False
    assert Address.objects.get(pk=response.json()["id"]).is_default is True


@pytest.mark.parametrize(
    "change, field",
    [
        ({"mobile": "12"}, "mobile"),
        ({"pincode": "!"}, "pincode"),
        ({"name": ""}, "name"),
        ({"house_number": ""}, "house_number"),
        ({"town": "", "district": ""}, "town"),
        ({"address_type": "castle"}, "address_type"),
        ({"location": "x" * 201}, "location"),
    ],
)
def test_create_errors_use_the_storefronts_field_names(auth_client, user, change, field):
    response = auth_client.post(url("/addresses/"), {**FORM, **change}, format="json")
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert not Address.objects.filter(user=user).exists()


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("header", [None, BEARER_NULL])
def test_addresses_need_a_valid_token(api_client, db, method, header):
    kwargs = {"HTTP_AUTHORIZATION": header} if header else {}
    response = getattr(api_client, method)(url("/addresses/"), **kwargs)
    assert response.status_code == 401
    assert not Address.objects.exists()


# --- pincode lookup ------------------------------------------------------------------------------


class _Lookup(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/pin/560001":
            status, body = 200, json.dumps({"city": "Bangalore", "state": "Karnataka"}).encode()
        else:
            status, body = 404, b"{}"
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def lookup(settings):
    with loopback_http_server(_Lookup) as server:
        settings.PINCODE_LOOKUP_URL = f"http://127.0.0.1:{server.server_address[1]}/pin/{{pincode}}"
        yield


@pytest.mark.parametrize("header", [None, BEARER_NULL, "Bearer expired.or.bad"])
def test_pincode_lookup_is_public(api_client, lookup, header):
    kwargs = {"HTTP_AUTHORIZATION": header} if header else {}
    response = api_client.get(url("/addresses/pincode/?pincode=560001"), **kwargs)
    assert response.status_code == 200
    assert response.json() == {"city": "Bangalore", "state": "Karnataka"}


def test_pincode_unknown_is_404(api_client, lookup):
    response = api_client.get(url("/addresses/pincode/"), {"pincode": "999999"})
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_pincode_lookup_not_configured_is_404(api_client, settings):
    settings.PINCODE_LOOKUP_URL = ""
    response = api_client.get(url("/addresses/pincode/"), {"pincode": "560001"})
    assert response.status_code == 404
    assert response.json()["code"] == "pincode_lookup_disabled"


@pytest.mark.parametrize("query", [{}, {"pincode": "!!"}, {"pincode": "1" * 11}])
def test_pincode_malformed_is_400(api_client, lookup, query):
    response = api_client.get(url("/addresses/pincode/"), query)
    assert response.status_code == 400
    assert "pincode" in response.json()
