"""The versioned catalog cache, over HTTP with the cache ON: after any catalog write, the next
anonymous read of a cached page (canonical list, detail, COUNT; storefront list and detail) is
fresh, whichever path wrote (API, admin, seed_demo, checkout and cancel).

Transactional tests: the version is bumped by `transaction.on_commit`, so the writes must really
commit. The cache is the configured one (Redis when REDIS_URL is set, as in CI; else locmem).
"""

import io
from decimal import Decimal

import pytest
from django.core.cache import cache, caches
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from addresses.tests.factories import AddressFactory
from conftest import client_for
from core import catalog_cache
from products.stock import stock_take as product_stock_take
from products.tests.factories import CategoryFactory, ProductFactory
from users.tests.factories import UserFactory
from web.tests.conftest import fill_cart, null_token_client

pytestmark = pytest.mark.django_db(transaction=True)

LIST = "/api/products/"
WEB_LIST = "/api/web/products/"


@pytest.fixture(autouse=True)
def cache_on(settings):
    settings.CATALOG_CACHE_SECONDS = 3600  # far longer than any test: only the version can refresh


def detail(pk: int) -> str:
    return f"{LIST}{pk}/"


def web_detail(pk: int) -> str:
    return f"/api/web/products/{pk}/"


def assert_served_from_cache(client, path: str, **params) -> dict:
    """GET `path` twice; the second answer must come from the cache (no query). Returns the body."""
    first = client.get(path, params)
    assert first.status_code == 200, first.content
    with CaptureQueriesContext(connection) as ctx:
        second = client.get(path, params)
    assert second.status_code == 200
    assert ctx.captured_queries == [], f"{path} was not served from the cache"
    assert second.content == first.content
    assert second.headers["Cache-Control"] == "no-cache"
    return second.json()


def assert_still_cached(client, path: str) -> None:
    """One GET of `path` answered from the cache (no query at all)."""
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(path).status_code == 200
    assert ctx.captured_queries == [], f"{path} was not served from the cache"


def test_staff_price_change_is_seen_at_once_on_every_cached_page(api_client, staff_client):
    product = ProductFactory(name="Lamp", price=Decimal("10.00"), stock=5)
    storefront = null_token_client()  # a signed-out storefront visitor sends `Bearer null`
    assert assert_served_from_cache(api_client, LIST)["results"][0]["price"] == "10.00"
    assert assert_served_from_cache(api_client, detail(product.pk))["price"] == "10.00"
    assert assert_served_from_cache(storefront, WEB_LIST)[0]["price"] == 10
    assert assert_served_from_cache(storefront, web_detail(product.pk))["price"] == 10

    response = staff_client.patch(detail(product.pk), {"price": "12.50"}, format="json")
    assert response.status_code == 200

    assert api_client.get(LIST).json()["results"][0]["price"] == "12.50"
    assert api_client.get(detail(product.pk)).json()["price"] == "12.50"
    assert storefront.get(WEB_LIST).json()[0]["price"] == 12.5
    assert storefront.get(web_detail(product.pk)).json()["price"] == 12.5
    # ... and the new answers are cached in turn.
    assert assert_served_from_cache(api_client, LIST)["results"][0]["price"] == "12.50"


def test_deactivated_product_leaves_cached_pages_and_its_detail(api_client, staff_client):
    product = ProductFactory(name="Lamp")
    ProductFactory(name="Kettle")
    assert assert_served_from_cache(api_client, LIST)["count"] == 2
    assert_served_from_cache(api_client, detail(product.pk))
    assert len(assert_served_from_cache(api_client, WEB_LIST)) == 2

    assert staff_client.patch(detail(product.pk), {"is_active": False}, format="json").status_code == 200

    body = api_client.get(LIST).json()
    assert body["count"] == 1  # the cached COUNT is stale too
    assert [row["name"] for row in body["results"]] == ["Kettle"]
    assert api_client.get(detail(product.pk)).status_code == 404
    assert [row["subtitle"] for row in api_client.get(WEB_LIST).json()] == ["Kettle"]


def test_created_and_deleted_products_change_the_cached_count(api_client, staff_client):
    ProductFactory(name="Lamp")
    assert assert_served_from_cache(api_client, LIST)["count"] == 1
    created = staff_client.post(LIST, {"name": "Kettle", "sku": "K-1", "price": "5.00"}, format="json")
    assert created.status_code == 201
    assert api_client.get(LIST).json()["count"] == 2
    assert_served_from_cache(api_client, LIST)

    assert staff_client.delete(detail(created.json()["id"])).status_code == 204
    assert api_client.get(LIST).json()["count"] == 1


def test_category_rename_and_delete_are_seen_at_once(api_client, staff_client):
    audio = CategoryFactory(name="Audio", slug="audio")
    product = ProductFactory(name="Speaker", category=audio)
    assert assert_served_from_cache(api_client, detail(product.pk))["category"]["name"] == "Audio"
    assert assert_served_from_cache(api_client, LIST, category="audio")["count"] == 1

    response = staff_client.patch(f"/api/categories/{audio.pk}/", {"name": "Sound"}, format="json")
    assert response.status_code == 200
    assert api_client.get(detail(product.pk)).json()["category"]["name"] == "Sound"
    assert api_client.get(LIST, {"category": "audio"}).json()["results"][0]["category"]["name"] == "Sound"
    assert_served_from_cache(api_client, LIST, category="audio")

    assert staff_client.delete(f"/api/categories/{audio.pk}/").status_code == 204
    assert api_client.get(detail(product.pk)).json()["category"] is None
    assert api_client.get(LIST).json()["results"][0]["category"] is None


def test_admin_edits_are_seen_at_once(api_client, staff_user):
    staff_user.is_superuser = True
    staff_user.save()
    admin = Client()
    admin.force_login(staff_user)
    product = ProductFactory(name="Lamp", price=Decimal("10.00"), stock=10)
    category = product.category
    assert assert_served_from_cache(api_client, detail(product.pk))["price"] == "10.00"

    response = admin.post(  # the changelist's list_editable form
        "/admin/products/product/",
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-MIN_NUM_FORMS": "0",
            "form-MAX_NUM_FORMS": "1000",
            "form-0-id": str(product.pk),
            "form-0-price": "11.00",
            "form-0-stock": "10",
            "initial-form-0-stock": "10",
            "initial-form-0-price": "10.00",
            "initial-form-0-is_active": "True",
            "form-0-is_active": "on",
            "_save": "Save",
        },
    )
    assert response.status_code == 302
    assert assert_served_from_cache(api_client, detail(product.pk))["price"] == "11.00"

    if category is not None:  # the category admin saves through ModelAdmin.save_model
        response = admin.post(
            f"/admin/products/category/{category.pk}/change/",
            {"name": "Renamed", "slug": category.slug, "is_active": "on", "_save": "Save"},
        )
        assert response.status_code == 302, response.content[:2000]
        assert api_client.get(detail(product.pk)).json()["category"]["name"] == "Renamed"

    assert_served_from_cache(api_client, LIST)
    response = admin.post(
        "/admin/products/product/add/",
        {
            "name": "Kettle",
            "slug": "kettle",
            "sku": "K-1",
            "price": "5.00",
            "stock": "1",
            "is_active": "on",
            # the variants inline, left empty: the product gets its default variant
            "variants-TOTAL_FORMS": "0",
            "variants-INITIAL_FORMS": "0",
            "variants-MIN_NUM_FORMS": "0",
            "variants-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    assert api_client.get(LIST).json()["count"] == 2


def test_seed_demo_bulk_inserts_are_seen_at_once(api_client):
    assert assert_served_from_cache(api_client, LIST)["count"] == 0
    call_command("seed_demo", "--no-accounts", "--products", "3", stdout=io.StringIO())
    assert api_client.get(LIST).json()["count"] > 0
    assert_served_from_cache(api_client, WEB_LIST)
    before = len(api_client.get(WEB_LIST).json())
    call_command("seed_demo", "--no-accounts", "--products", "5", stdout=io.StringIO())
    assert len(api_client.get(WEB_LIST).json()) == before + 2


def test_checkout_and_cancel_refresh_the_stock_shown_on_cached_pages(api_client):
    product = ProductFactory(name="Lamp", price=Decimal("10.00"), stock=5)
    user = UserFactory()
    fill_cart(user, [(product, 2)])
    address = AddressFactory(user=user)
    assert assert_served_from_cache(api_client, detail(product.pk))["stock"] == 5
    assert assert_served_from_cache(api_client, LIST, in_stock="true")["results"][0]["stock"] == 5

    response = client_for(user).post(
        "/api/orders/create/", {"shipping_address_id": address.pk, "payment_method": "cod"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert api_client.get(detail(product.pk)).json()["stock"] == 3
    assert api_client.get(LIST, {"in_stock": "true"}).json()["results"][0]["stock"] == 3
    assert_served_from_cache(api_client, detail(product.pk))

    order_id = response.json()["order"]["id"]
    assert client_for(user).post(f"/api/orders/cancel/{order_id}/").status_code == 200
    assert api_client.get(detail(product.pk)).json()["stock"] == 5


def test_stock_writes_leave_the_storefront_pages_which_show_no_stock(api_client, staff_client):
    product = ProductFactory(name="Lamp", price=Decimal("10.00"), stock=5)
    storefront = null_token_client()
    assert_served_from_cache(storefront, WEB_LIST)
    assert_served_from_cache(storefront, web_detail(product.pk))
    assert_served_from_cache(api_client, detail(product.pk))

    with transaction.atomic():  # what a checkout does
        product_stock_take(lines=[(product.variants.get().pk, 2)])

    assert api_client.get(detail(product.pk)).json()["stock"] == 3  # shows stock: fresh
    assert_still_cached(storefront, WEB_LIST)  # no stock in it: the entry survived the stock write
    assert_still_cached(storefront, web_detail(product.pk))
    # A staff write, stock included, refreshes the storefront too.
    assert (
        staff_client.patch(detail(product.pk), {"stock": 9, "price": "11.00"}, format="json").status_code
        == 200
    )
    assert storefront.get(web_detail(product.pk)).json()["price"] == 11


def test_the_storefront_product_shape_has_no_stock():
    # The storefront views are cached with shows_stock=False (web/views.py): if the shape ever
    # shows stock, they must key on the stock version too.
    from web.serializers import WebProductSerializer

    fields = set(WebProductSerializer().fields)
    assert not fields & {"stock", "in_stock", "available", "quantity"}, fields


def test_a_checkout_that_rolls_back_keeps_the_cache(api_client):
    product = ProductFactory(stock=5)
    assert_served_from_cache(api_client, detail(product.pk))
    version = catalog_cache.catalog_version()
    with pytest.raises(RuntimeError), transaction.atomic():
        product_stock_take(lines=[(product.variants.get().pk, 2)])
        raise RuntimeError("a later step failed")
    assert catalog_cache.catalog_version() == version
    assert_served_from_cache(api_client, detail(product.pk))


def test_signed_in_callers_are_never_served_or_stored(api_client, auth_client, staff_client):
    product = ProductFactory(name="Lamp")
    for client in (auth_client, staff_client):
        for path in (LIST, detail(product.pk)):
            client.get(path)
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(path).status_code == 200
            assert ctx.captured_queries, f"{path} for a signed-in caller came from the cache"
    # A signed-in storefront user runs the view too; a signed-out one (Bearer null) is cached.
    with CaptureQueriesContext(connection) as ctx:
        assert auth_client.get(WEB_LIST).status_code == 200
        assert auth_client.get(WEB_LIST).status_code == 200
    assert len([q for q in ctx.captured_queries if "products_product" in q["sql"]]) == 2
    assert_served_from_cache(null_token_client(), WEB_LIST)


def test_the_cache_is_skipped_when_it_cannot_hold_a_version(api_client, monkeypatch):
    product = ProductFactory(name="Lamp", price=Decimal("10.00"))
    monkeypatch.setattr(catalog_cache, "catalog_version", lambda **_: None)  # e.g. Redis unreachable
    api_client.get(detail(product.pk))
    with CaptureQueriesContext(connection) as ctx:
        assert api_client.get(detail(product.pk)).status_code == 200
    assert ctx.captured_queries
    assert cache.get(catalog_cache.VERSION_KEY) is None


def test_a_write_while_the_cache_is_down_is_seen_once_it_is_back(api_client, staff_client, monkeypatch):
    """A write that commits while Redis does not answer cannot replace the version (the cache
    drops the write, IGNORE_EXCEPTIONS); when Redis comes back with its data, the entries stored
    before would match the old version again. The writing process replaces it at its next lookup."""
    product = ProductFactory(name="Lamp", price=Decimal("10.00"), stock=5)
    assert assert_served_from_cache(api_client, detail(product.pk))["price"] == "10.00"
    assert assert_served_from_cache(api_client, LIST)["results"][0]["price"] == "10.00"

    backend = caches["default"]
    with monkeypatch.context() as down:  # as django-redis answers with IGNORE_EXCEPTIONS on
        down.setattr(backend, "set", lambda *args, **kwargs: None)
        down.setattr(backend, "set_many", lambda *args, **kwargs: [])
        down.setattr(backend, "add", lambda *args, **kwargs: False)
        down.setattr(backend, "get", lambda key, default=None, **kwargs: default)
        down.setattr(backend, "get_many", lambda keys, **kwargs: {})
        assert staff_client.patch(detail(product.pk), {"price": "12.50"}, format="json").status_code == 200
        assert api_client.get(detail(product.pk)).json()["price"] == "12.50"  # the view ran
        assert catalog_cache._unbumped == {catalog_cache.VERSION_KEY}

    # Redis is back, with the entries stored before the outage under the old version.
    assert api_client.get(detail(product.pk)).json()["price"] == "12.50"
    assert api_client.get(LIST).json()["results"][0]["price"] == "12.50"
    assert catalog_cache._unbumped == set()
    assert assert_served_from_cache(api_client, detail(product.pk))["price"] == "12.50"
