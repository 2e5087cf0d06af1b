"""A customer's and a staff member's journey through the live, production-shaped stack (.ci/prod-tier).

Plain HTTP with `requests` against the web server (granian); the emails are the files the Celery worker wrote
(Django's file backend), the card payment goes through localstripe, and its webhook is signed
as Stripe signs one. Any 5xx, or any answer other than the one expected, fails the run.

Environment (set by .ci/prod-tier): NOVACART_LIVE_URL, NOVACART_LIVE_MAIL_DIR,
NOVACART_LIVE_STRIPE_URL, NOVACART_LIVE_WEBHOOK_SECRET, NOVACART_LIVE_STAFF ("email:password").
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import sys
import time
from email import message_from_bytes
from pathlib import Path
from typing import Any

import requests

BASE = os.environ["NOVACART_LIVE_URL"].rstrip("/")
MAIL_DIR = Path(os.environ["NOVACART_LIVE_MAIL_DIR"])
STRIPE = os.environ["NOVACART_LIVE_STRIPE_URL"].rstrip("/")
WEBHOOK_SECRET = os.environ["NOVACART_LIVE_WEBHOOK_SECRET"]
STAFF_EMAIL, STAFF_PASSWORD = os.environ["NOVACART_LIVE_STAFF"].split(":", 1)
TIMEOUT = 20


class JourneyError(AssertionError):
    pass


def check(condition: bool, message: str) -> None:
    if not condition:
        raise JourneyError(message)


class Api:
    """A client of the live API: every call must answer `expect`, and never a 5xx."""

    def __init__(self, token: str | None = None) -> None:
        self.session = requests.Session()
        self.calls = 0
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, expect: int = 200, **kwargs: Any) -> Any:
        response = self.session.request(method, f"{BASE}{path}", timeout=TIMEOUT, **kwargs)
        self.calls += 1
        check(response.status_code < 500, f"{method} {path} -> {response.status_code}: {response.text[:500]}")
        check(
            response.status_code == expect,
            f"{method} {path} -> {response.status_code}, expected {expect}: {response.text[:500]}",
        )
        check(
            response.status_code == 204
            or response.headers.get("Content-Type", "").startswith("application/json"),
            f"{method} {path}: not JSON ({response.headers.get('Content-Type')})",
        )
        return response.json() if response.content else None

    def get(self, path: str, expect: int = 200, **kwargs: Any) -> Any:
        return self.call("GET", path, expect, **kwargs)

    def post(self, path: str, body: Any = None, expect: int = 200, **kwargs: Any) -> Any:
        return self.call("POST", path, expect, json=body, **kwargs)


def sign_in(email: str, password: str) -> Api:
    tokens = Api().post("/api/token/", {"email": email, "password": password})
    check(bool(tokens.get("access")) and bool(tokens.get("refresh")), f"no tokens: {tokens}")
    return Api(tokens["access"])


def wait_for_mail(to: str, subject_has: str, timeout: float = 60) -> str:
    """The plain-text body of the first email to `to` whose subject contains `subject_has`,
    written by the worker into MAIL_DIR."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in sorted(MAIL_DIR.glob("*.log")):
            # The file backend appends every message of one connection to one file, separated
            # by a line of dashes.
            for raw in path.read_bytes().split(b"-" * 79):
                if not raw.strip():
                    continue
                message = message_from_bytes(raw.strip())
                if message["To"] == to and subject_has in (message["Subject"] or ""):
                    for part in message.walk():
                        if part.get_content_type() == "text/plain":
                            return part.get_payload(decode=True).decode()
        time.sleep(0.5)
    raise JourneyError(f"no email to {to} with {subject_has!r} after {timeout}s (is the worker sending?)")


def stripe_call(method: str, path: str, **data: Any) -> dict:
    response = requests.request(
        method, f"{STRIPE}{path}", data=data, auth=("sk_test_prodtier", ""), timeout=TIMEOUT
    )
    check(response.status_code == 200, f"localstripe {method} {path} -> {response.status_code}")
    return response.json()


def signed_webhook(event: dict) -> tuple[bytes, str]:
    payload = json.dumps(event).encode()
    timestamp = int(time.time())
    signature = hmac.new(WEBHOOK_SECRET.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
    return payload, f"t={timestamp},v1={signature.hexdigest()}"


def main() -> int:
    anonymous = Api()
    check(anonymous.get("/api/health/")["status"] == "ok", "health")
    # The production shape itself: DEBUG off (no browsable API even for a browser's Accept) and the
    # catalog cache at its production default (on: the anonymous list is marked for revalidation,
    # `Cache-Control: no-cache`, which only the versioned catalog cache sets).
    browser = requests.get(f"{BASE}/api/products/", headers={"Accept": "text/html"}, timeout=TIMEOUT)
    check(browser.status_code == 406, f"DEBUG is on? text/html GET /api/products/ -> {browser.status_code}")
    browser = requests.get(f"{BASE}/api/products/", timeout=TIMEOUT)
    check("no-cache" in browser.headers.get("Cache-Control", ""), "the catalog cache is off")

    # --- register, then log in ---------------------------------------------------------------
    email = f"journey-{secrets.token_hex(4)}@example.com"
    password = f"Zq{secrets.token_hex(8)}!7"  # random: never "too similar" to the email
    registered = anonymous.post("/api/register/", {"email": email, "password": password}, expect=201)
    check(registered["email"] == email, f"register: {registered}")
    customer = sign_in(email, password)
    check(customer.get("/api/me/")["email"] == email, "me")

    # --- browse: filters, an unknown category, facets (the catalog cache is on) -------------
    categories = anonymous.get("/api/categories/")
    check(len(categories) > 0, "no categories: seed_demo did not run?")
    slug = categories[0]["slug"]
    for _ in range(2):  # the second answer may come from the catalog cache
        filters = {"category": slug, "ordering": "-price", "in_stock": "true"}
        page = anonymous.get("/api/products/", params=filters)
        check(page["count"] >= 0 and isinstance(page["results"], list), "filtered list")
        for value in ("no-such-category", "987654321"):
            empty = anonymous.get("/api/products/", params={"category": value})
            check(empty["count"] == 0 and empty["results"] == [], f"unknown category {value}: {empty}")
            check(anonymous.get("/api/products/brands/", params={"category": value}) == [], "brands")
            check(
                anonymous.get("/api/products/price-range/", params={"category": value})
                == {"min_price": None, "max_price": None},
                "price range",
            )
            check(anonymous.get("/api/web/products/", params={"category": value}) == [], "web products")
    check(isinstance(anonymous.get("/api/products/brands/"), list), "brands")
    price_range = anonymous.get("/api/products/price-range/")
    check(price_range["min_price"] is not None, f"price range: {price_range}")
    customer.get("/api/products/", params={"search": "a", "min_price": "1", "max_price": "100000"})
    cheapest = {"in_stock": "true", "ordering": "price", "page_size": 50}
    products = anonymous.get("/api/products/", params=cheapest)
    # Simple products (one variant) are added by product_id alone, as clients built before variants do.
    simple = [product for product in products["results"] if len(product["variants"]) == 1]
    check(len(simple) >= 2, "need two simple products in stock")
    first, second = simple[0], simple[1]

    # --- variants: the size facet, ?option=, and a sized product needing variant_id ----------
    facets = anonymous.get("/api/products/options/")
    sizes = next((facet for facet in facets if facet["name"] == "Size"), None)
    check(sizes is not None and sizes["values"], f"no Size facet (no sized clothing seeded?): {facets}")
    sized_product = sized_variant = None
    for entry in sizes["values"]:
        params = {"option": f"Size:{entry['value']}", "in_stock": "true"}
        page = anonymous.get("/api/products/", params=params)
        check(page["count"] <= entry["count"], f"?option=Size:{entry['value']} finds more than its facet")
        for product in page["results"]:
            wanted = [
                variant
                for variant in product["variants"]
                if variant["options"].get("Size") == entry["value"] and variant["stock"] > 0
            ]
            if len(product["variants"]) > 1 and wanted:
                sized_product, sized_variant = product, wanted[0]
                break
        if sized_product:
            break
    check(sized_product is not None, "no multi-variant product with a size in stock")

    # --- an address, the cart, a cash-on-delivery order -------------------------------------
    address = customer.post(
        "/api/addresses/",
        {
            "full_name": "Ada Journey",
            "phone": "+15555550100",
            "line1": "1 Loop Road",
            "city": "Springfield",
            "state": "IL",
            "postal_code": "62701",
            "country": "US",
        },
        expect=201,
    )
    customer.post("/api/cart/add/", {"product_id": first["id"], "quantity": 1}, expect=201)
    cod = customer.post(
        "/api/orders/create/", {"shipping_address_id": address["id"], "payment_method": "cod"}, expect=201
    )["order"]
    check(cod["status"] == "CONFIRMED", f"COD order: {cod['status']}")
    check(customer.get("/api/cart/")["items"] == [], "the cart is empty after checkout")
    wait_for_mail(email, cod["number"])

    # A sized product: variant_id is required, the order line is that variant, its stock moves.
    customer.post("/api/cart/add/", {"product_id": sized_product["id"], "quantity": 1}, expect=400)
    body = {"product_id": sized_product["id"], "variant_id": sized_variant["id"], "quantity": 1}
    line = customer.post("/api/cart/add/", body, expect=201)["items"][0]
    check(line["variant"]["id"] == sized_variant["id"], f"cart line variant: {line['variant']}")
    sized_order = customer.post(
        "/api/orders/create/", {"shipping_address_id": address["id"], "payment_method": "cod"}, expect=201
    )["order"]
    [item] = sized_order["items"]
    check(
        item["variant_id"] == sized_variant["id"] and item["options"] == sized_variant["options"],
        f"order line variant: {item}",
    )
    after = anonymous.get(f"/api/products/{sized_product['id']}/")  # cached detail: must be fresh
    stock_after = {variant["id"]: variant["stock"] for variant in after["variants"]}
    now, before = stock_after.get(sized_variant["id"]), sized_variant["stock"]
    check(now == before - 1, f"variant stock after the order: {now}, was {before}")
    wait_for_mail(email, sized_order["number"])

    # --- a card order paid through localstripe, confirmed by a signed webhook ----------------
    customer.post("/api/cart/add/", {"product_id": second["id"], "quantity": 1}, expect=201)
    created = customer.post(
        "/api/orders/create/",
        {"shipping_address_id": address["id"], "payment_method": "card"},
        expect=201,
        headers={"Idempotency-Key": secrets.token_hex(8)},
    )
    card, payment = created["order"], created["payment"]
    check(card["status"] == "PENDING", f"card order: {card['status']}")
    intent_id = payment["payment_intent_id"]
    # As the browser would (stripe.js): attach a card, confirm.
    stripe_call("POST", f"/v1/payment_intents/{intent_id}", payment_method="pm_card_visa")
    intent = stripe_call("POST", f"/v1/payment_intents/{intent_id}/confirm")
    check(intent["status"] == "succeeded", f"localstripe intent: {intent['status']}")
    event = {
        "id": f"evt_journey_{secrets.token_hex(8)}",
        "object": "event",
        "type": "payment_intent.succeeded",
        "created": int(time.time()),
        "livemode": False,
        "data": {"object": intent},
    }
    payload, signature = signed_webhook(event)
    webhook = requests.post(
        f"{BASE}/api/payments/webhook/",
        data=payload,
        headers={"Content-Type": "application/json", "Stripe-Signature": signature},
        timeout=TIMEOUT,
    )
    check(webhook.status_code == 200, f"webhook -> {webhook.status_code}: {webhook.text[:300]}")
    forged = requests.post(
        f"{BASE}/api/payments/webhook/",
        data=payload,
        headers={"Content-Type": "application/json", "Stripe-Signature": signature[:-4] + "0000"},
        timeout=TIMEOUT,
    )
    check(forged.status_code == 400, f"a forged signature -> {forged.status_code}")
    paid = customer.get(f"/api/orders/{card['id']}/")
    check(paid["status"] == "PAID", f"card order after the webhook: {paid['status']}")
    wait_for_mail(email, card["number"])

    # --- staff ship and deliver ---------------------------------------------------------------
    staff = sign_in(STAFF_EMAIL, STAFF_PASSWORD)
    shipped = staff.post(f"/api/orders/{card['id']}/ship/", {"tracking_number": "1Z999", "carrier": "UPS"})
    check(shipped["status"] == "SHIPPED", f"ship: {shipped.get('status')}")
    wait_for_mail(email, "on its way")
    delivered = staff.post(f"/api/orders/{card['id']}/deliver/")
    check(delivered["status"] == "DELIVERED", f"deliver: {delivered.get('status')}")

    # --- password reset: the worker sends the link, the link works ---------------------------
    sent = anonymous.post("/api/password-reset/", {"email": email})
    unknown = anonymous.post("/api/password-reset/", {"email": f"nobody-{secrets.token_hex(4)}@example.com"})
    check(sent == unknown, "password reset answers differ for a known and an unknown address")
    body = wait_for_mail(email, "password")
    match = re.search(r"/reset-password/(?P<uid>[\w-]+)/(?P<token>[\w-]+)", body)
    check(match is not None, f"no reset link in: {body[:300]}")
    new_password = f"Wy{secrets.token_hex(8)}!3"
    anonymous.post(
        "/api/password-reset/confirm/",
        {"uid": match["uid"], "token": match["token"], "password": new_password},
    )
    Api().post("/api/token/", {"email": email, "password": password}, expect=401)
    sign_in(email, new_password).get("/api/orders/my/")

    orders = f"COD {cod['number']}, sized {sized_order['number']}, card {card['number']} delivered"
    print(f"journey: ok ({email}; {orders}; reset by the worker)")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except JourneyError as error:
        print(f"journey: FAILED: {error}", file=sys.stderr)
        sys.exit(1)
