"""Staff API `/api/promotions/` and the admin's status filter."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError
from django.test import Client
from django.utils import timezone

from conftest import client_for
from products.tests.factories import CategoryFactory
from promotions.models import Promotion
from promotions.tests.factories import PromotionFactory
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(staff_user):
    return client_for(staff_user)


def test_staff_creates_lists_patches_and_reads(staff_client):
    category = CategoryFactory()
    response = staff_client.post(
        "/api/promotions/",
        {
            "code": "Summer10",
            "kind": "percentage",
            "value": "10.00",
            "category_ids": [category.pk],
            "usage_limit": 3,
            "min_subtotal": "20.00",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["code"] == "Summer10"
    assert body["category_ids"] == [category.pk]
    assert body["times_used"] == 0 and body["usage_limit"] == 3 and body["value"] == "10.00"
    assert set(body) == {
        "id",
        "code",
        "description",
        "kind",
        "value",
        "min_subtotal",
        "starts_at",
        "ends_at",
        "usage_limit",
        "usage_limit_per_user",
        "category_ids",
        "is_active",
        "times_used",
        "created_at",
    }
    listing = staff_client.get("/api/promotions/").json()
    assert listing["count"] == 1 and listing["results"][0]["id"] == body["id"]
    patched = staff_client.patch(f"/api/promotions/{body['id']}/", {"value": "15.50"}, format="json")
    assert patched.status_code == 200 and patched.json()["value"] == "15.50"
    assert staff_client.get(f"/api/promotions/{body['id']}/").json()["category_ids"] == [category.pk]


def test_code_is_unique_case_insensitively_as_a_field_error(staff_client):
    """A taken code is a validation error on `code`, in the contract's field shape, on create
    and on update alike."""
    PromotionFactory(code="WELCOME")
    other = PromotionFactory(code="OTHER")
    response = staff_client.post(
        "/api/promotions/", {"code": " welcome ", "kind": "fixed", "value": "5.00"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"code": ["A promotion with this code already exists."]}
    response = staff_client.patch(f"/api/promotions/{other.pk}/", {"code": "Welcome"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"code": ["A promotion with this code already exists."]}
    other.refresh_from_db()
    assert other.code == "OTHER"
    assert Promotion.objects.count() == 2


def test_the_database_refuses_a_code_differing_only_in_case():
    PromotionFactory(code="ABC")
    with pytest.raises(IntegrityError):
        PromotionFactory(code="abc")


@pytest.mark.parametrize(
    "payload",
    [
        {"code": "X1", "kind": "percentage", "value": "100.01"},
        {"code": "X1", "kind": "percentage", "value": "0"},
        {"code": "X1", "kind": "fixed", "value": "-1"},
        {"code": "X1", "kind": "bogus", "value": "5"},
        {"code": "X1", "kind": "fixed", "value": "5", "category_ids": [987654]},
        {"code": "bad code!", "kind": "fixed", "value": "5"},
    ],
)
def test_invalid_promotions_are_400(staff_client, payload):
    response = staff_client.post("/api/promotions/", payload, format="json")
    assert response.status_code == 400, response.content
    assert Promotion.objects.count() == 0


def test_customers_and_anonymous_are_refused(auth_client, api_client):
    assert auth_client.get("/api/promotions/").status_code == 403
    assert api_client.get("/api/promotions/").status_code == 401


def test_delete_unused_removes_used_deactivates(staff_client):
    unused = PromotionFactory()
    used = PromotionFactory(times_used=1)
    assert staff_client.delete(f"/api/promotions/{unused.pk}/").status_code == 204
    assert staff_client.delete(f"/api/promotions/{used.pk}/").status_code == 204
    assert not Promotion.objects.filter(pk=unused.pk).exists()
    used.refresh_from_db()
    assert used.is_active is False


def test_admin_status_filter():
    now = timezone.now()
    active = PromotionFactory(code="ACTIVE1")
    scheduled = PromotionFactory(code="LATER1", starts_at=now + timedelta(days=2))
    ended = PromotionFactory(code="OVER1", ends_at=now - timedelta(hours=1))
    exhausted = PromotionFactory(code="GONE1", usage_limit=2, times_used=2, value=Decimal("5"))
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    expected = {"active": active, "scheduled": scheduled, "ended": ended, "exhausted": exhausted}
    for status, promotion in expected.items():
        response = client.get(f"/admin/promotions/promotion/?status={status}")
        assert response.status_code == 200
        shown = [p.code for p in response.context["cl"].result_list]
        assert shown == [promotion.code], (status, shown)
    assert client.get(f"/admin/promotions/promotion/{active.pk}/change/").status_code == 200
    assert client.get("/admin/promotions/redemption/").status_code == 200


def test_redemptions_cannot_be_added_or_deleted_in_the_admin():
    """Orders write redemptions together with the promotion's `times_used`; one added in the admin
    was a 500 (no amount) and one deleted left `times_used` counting it."""
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    assert client.get("/admin/promotions/redemption/add/").status_code == 403
    page = client.get("/admin/promotions/redemption/").content.decode()
    assert 'value="delete_selected"' not in page


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"code": "SP ACE"}, "code"),
        ({"min_subtotal": "-5"}, "min_subtotal"),
        ({"kind": "percentage", "value": "150"}, "value"),
        ({"ends_at_0": "2026-01-01", "ends_at_1": "00:00:00"}, "ends_at"),
    ],
)
def test_the_admin_applies_the_apis_rules(overrides, field):
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    form = {
        "code": "ADMIN10",
        "description": "",
        "kind": "fixed",
        "value": "10.00",
        "min_subtotal": "",
        "starts_at_0": "2026-02-01",
        "starts_at_1": "00:00:00",
        "ends_at_0": "",
        "ends_at_1": "",
        "usage_limit": "",
        "usage_limit_per_user": "",
        "is_active": "on",
        "redemptions-TOTAL_FORMS": "0",
        "redemptions-INITIAL_FORMS": "0",
        "redemptions-MIN_NUM_FORMS": "0",
        "redemptions-MAX_NUM_FORMS": "1000",
    }
    response = client.post("/admin/promotions/promotion/add/", {**form, **overrides})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors[field]
    assert not Promotion.objects.exists()

    response = client.post("/admin/promotions/promotion/add/", form)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Promotion.objects.get().code == "ADMIN10"
