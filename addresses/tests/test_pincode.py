"""GET /api/addresses/pincode/ against a real HTTP server on loopback (canned answers by path)."""

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler

import pytest

from conftest import loopback_http_server

URL = "/api/addresses/pincode/"

INDIA_POST_OK = [
    {
        "Message": "Number of pincode(s) found:2",
        "Status": "Success",
        "PostOffice": [
            {
                "Name": "Bangalore G.P.O.",
                "Block": "Bangalore North",
                "District": "Bangalore",
                "State": "Karnataka",
                "Country": "India",
            },
            {"Name": "Other", "District": "Ignored", "State": "Ignored"},
        ],
    }
]
INDIA_POST_NO_DISTRICT = [
    {
        "Status": "Success",
        "PostOffice": [{"Name": "Tiny Village", "Block": "NA", "District": "", "State": "Goa"}],
    }
]
INDIA_POST_UNKNOWN = [{"Message": "No records found", "Status": "Error", "PostOffice": None}]

# path -> (status, body bytes, delay seconds)
ROUTES = {
    "/generic/110001": (200, json.dumps({"city": "New Delhi", "state": "Delhi"}).encode(), 0),
    "/generic/999999": (404, b'{"error": "unknown"}', 0),
    "/generic/000000": (200, json.dumps({"city": None, "state": None}).encode(), 0),
    "/generic/E1W": (200, json.dumps({"city": "London", "state": ""}).encode(), 0),
    "/indiapost/560001": (200, json.dumps(INDIA_POST_OK).encode(), 0),
    "/indiapost/403001": (200, json.dumps(INDIA_POST_NO_DISTRICT).encode(), 0),
    "/indiapost/999999": (200, json.dumps(INDIA_POST_UNKNOWN).encode(), 0),
    "/broken/110001": (500, b"Internal Server Error", 0),
    "/html/110001": (200, b"<html><body>Maintenance</body></html>", 0),
    "/unknown-shape/110001": (200, json.dumps({"result": "ok"}).encode(), 0),
    "/number/110001": (200, b"42", 0),
    "/throttled/110001": (429, b'{"error": "slow down"}', 0),
    "/slow/110001": (200, json.dumps({"city": "Too Late", "state": "X"}).encode(), 1.5),
    # JSON nested deeper than Python's stack: json.loads raises RecursionError, not ValueError.
    "/deep/110001": (200, b"[" * 100_000 + b"]" * 100_000, 0),
    "/huge/110001": (200, json.dumps({"city": "Big", "pad": "x" * 300_000}).encode(), 0),
}
# Answers sent a little at a time, each piece well inside a read timeout: the body one byte,
# or the headers one line, every 0.2 s, 6 s in all.
DRIP = {
    "/drip-body/110001": "body",
    "/drip-headers/110001": "headers",
}
DRIP_ANSWER = json.dumps({"city": "Drip", "state": "D"}).encode().ljust(30)


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.hits.append(self.path)
        if self.path in DRIP:
            self._drip(DRIP[self.path])
            return
        status, body, delay = ROUTES.get(self.path, (404, b"{}", 0))
        if delay:
            time.sleep(delay)
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (the timeout test)

    def _drip(self, part: str) -> None:
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(DRIP_ANSWER)))
            if part == "headers":
                for number in range(30):
                    self.send_header(f"X-Drip-{number}", "1")
                    self.flush_headers()
                    time.sleep(0.2)
            self.end_headers()
            if part == "body":
                for byte in DRIP_ANSWER:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(0.2)
            else:
                self.wfile.write(DRIP_ANSWER)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args):
        pass


@pytest.fixture
def pincode_server():
    with loopback_http_server(_Handler) as server:
        server.hits = []
        yield server


def provider(settings, server, prefix: str) -> None:
    host, port = server.server_address
    settings.PINCODE_LOOKUP_URL = f"http://{host}:{port}/{prefix}/{{pincode}}"


def test_generic_json_provider(api_client, settings, pincode_server, db):
    provider(settings, pincode_server, "generic")

    response = api_client.get(URL, {"pincode": "110001"})

    assert response.status_code == 200
    assert response.json() == {"city": "New Delhi", "state": "Delhi"}
    assert pincode_server.hits == ["/generic/110001"]


def test_alphanumeric_pincode_is_normalised(api_client, settings, pincode_server, db):
    provider(settings, pincode_server, "generic")

    response = api_client.get(URL, {"pincode": " e1w "})

    assert response.status_code == 200
    assert response.json() == {"city": "London", "state": ""}


def test_india_post_format_uses_the_district_of_the_first_office(api_client, settings, pincode_server, db):
    provider(settings, pincode_server, "indiapost")

    response = api_client.get(URL, {"pincode": "560001"})

    assert response.status_code == 200
    assert response.json() == {"city": "Bangalore", "state": "Karnataka"}


def test_india_post_without_district_falls_back_to_the_office_name(api_client, settings, pincode_server, db):
    provider(settings, pincode_server, "indiapost")

    response = api_client.get(URL, {"pincode": "403001"})

    assert response.status_code == 200
    assert response.json() == {"city": "Tiny Village", "state": "Goa"}


def test_route_is_not_taken_for_an_address_id_and_works_signed_in(auth_client, settings, pincode_server):
    provider(settings, pincode_server, "generic")

    response = auth_client.get(URL, {"pincode": "110001"})

    assert response.status_code == 200
    assert response.json()["city"] == "New Delhi"


def test_answers_are_cached(api_client, settings, pincode_server, db):
    provider(settings, pincode_server, "generic")

    first = api_client.get(URL, {"pincode": "110001"})
    second = api_client.get(URL, {"pincode": "110001"})

    assert first.json() == second.json() == {"city": "New Delhi", "state": "Delhi"}
    assert pincode_server.hits == ["/generic/110001"]


def test_changing_the_provider_does_not_serve_the_old_providers_cache(
    api_client, settings, pincode_server, db
):
    provider(settings, pincode_server, "generic")
    api_client.get(URL, {"pincode": "110001"})
    provider(settings, pincode_server, "broken")

    response = api_client.get(URL, {"pincode": "110001"})

    assert response.status_code == 503
    assert pincode_server.hits == ["/generic/110001", "/broken/110001"]


@pytest.mark.parametrize(
    ("prefix", "pincode"),
    [("generic", "999999"), ("generic", "000000"), ("indiapost", "999999")],
)
def test_unknown_pincode_is_404_and_cached_briefly(api_client, settings, pincode_server, db, prefix, pincode):
    provider(settings, pincode_server, prefix)

    first = api_client.get(URL, {"pincode": pincode})
    second = api_client.get(URL, {"pincode": pincode})

    assert first.status_code == second.status_code == 404
    assert first.json()["code"] == "not_found"
    assert first.json()["detail"]
    assert pincode_server.hits == [f"/{prefix}/{pincode}"]


@pytest.mark.parametrize("prefix", ["broken", "html", "unknown-shape", "number", "throttled", "deep", "huge"])
def test_provider_errors_and_garbage_are_503_and_not_cached(api_client, settings, pincode_server, db, prefix):
    provider(settings, pincode_server, prefix)

    first = api_client.get(URL, {"pincode": "110001"})
    second = api_client.get(URL, {"pincode": "110001"})

    assert first.status_code == second.status_code == 503
    assert first.json()["code"] == "service_unavailable"
    assert first.json()["detail"]
    assert len(pincode_server.hits) == 2


@pytest.mark.parametrize(
    ("prefix", "timeout", "bound"),
    [
        ("slow", 0.3, 1.4),  # one answer after 1.5 s
        # Sent a byte or a header line at a time (6 s in all, each piece in 0.2 s): the timeout
        # bounds the whole lookup, not each socket read.
        ("drip-body", 0.5, 3),
        ("drip-headers", 0.5, 3),
    ],
)
def test_a_provider_slower_than_the_timeout_is_503(
    api_client, settings, pincode_server, db, prefix, timeout, bound
):
    provider(settings, pincode_server, prefix)
    settings.PINCODE_LOOKUP_TIMEOUT = timeout

    started = time.monotonic()
    response = api_client.get(URL, {"pincode": "110001"})
    elapsed = time.monotonic() - started

    assert response.status_code == 503
    assert response.json()["code"] == "service_unavailable"
    assert elapsed < bound  # gave up at the timeout, far below what the whole answer takes


def test_lookups_beyond_the_threads_allowed_are_503_without_calling_the_provider(
    api_client, settings, pincode_server, db, monkeypatch
):
    from addresses import services

    provider(settings, pincode_server, "generic")
    monkeypatch.setattr(services, "_PINCODE_IN_FLIGHT", threading.BoundedSemaphore(1))
    services._PINCODE_IN_FLIGHT.acquire()  # one lookup already waiting on the provider

    response = api_client.get(URL, {"pincode": "110001"})

    assert response.status_code == 503
    assert response.json()["code"] == "service_unavailable"
    assert pincode_server.hits == []
    services._PINCODE_IN_FLIGHT.release()
    assert api_client.get(URL, {"pincode": "110001"}).json() == {"city": "New Delhi", "state": "Delhi"}


def test_unreachable_provider_is_503(api_client, settings, db):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.PINCODE_LOOKUP_URL = f"http://127.0.0.1:{port}/{{pincode}}"

    response = api_client.get(URL, {"pincode": "110001"})

    assert response.status_code == 503
    assert response.json()["code"] == "service_unavailable"


def test_unset_lookup_url_is_404(api_client, settings, pincode_server, db):
    settings.PINCODE_LOOKUP_URL = ""

    response = api_client.get(URL, {"pincode": "110001"})

    assert response.status_code == 404
    assert response.json()["code"] == "pincode_lookup_disabled"
    assert response.json()["detail"]
    assert pincode_server.hits == []


def test_lookup_url_without_placeholder_is_503_not_500(api_client, settings, pincode_server, db):
    host, port = pincode_server.server_address
    settings.PINCODE_LOOKUP_URL = f"http://{host}:{port}/generic/110001"

    response = api_client.get(URL, {"pincode": "110001"})

    assert response.status_code == 503
    assert pincode_server.hits == []


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"pincode": ""},
        {"pincode": "12"},
        {"pincode": "12345678901"},
        {"pincode": "11 0001"},
        {"pincode": "../x"},
        {"pincode": "1100%01"},
    ],
)
def test_missing_or_malformed_pincode_is_400(api_client, settings, pincode_server, db, query):
    provider(settings, pincode_server, "generic")

    response = api_client.get(URL, query)

    assert response.status_code == 400
    assert "pincode" in response.json()
    assert pincode_server.hits == []
