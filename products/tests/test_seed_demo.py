"""`manage.py seed_demo`: idempotent sample catalogue, demo accounts, --products N."""

import io
import json
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import authenticate
from django.core.management import call_command

from products.models import Category, Product
from users.models import User

pytestmark = pytest.mark.django_db

FIXTURE = Path(settings.BASE_DIR) / "fixtures" / "sample_products.json"


def fixture_records(model: str) -> list[dict]:
    return [r for r in json.loads(FIXTURE.read_text(encoding="utf-8")) if r["model"] == model]


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def test_fixture_is_a_loadable_django_fixture():
    call_command("loaddata", str(FIXTURE), verbosity=0)
    categories = fixture_records("products.category")
    products = fixture_records("products.product")
    assert Category.objects.count() == len(categories) >= 6
    assert Category.objects.filter(parent__isnull=False).exists()
    assert Product.objects.count() == len(products) >= 30
    assert Product.objects.values("brand").distinct().count() >= 5
    assert Product.objects.values("category").distinct().count() >= 5


def test_seed_is_idempotent_and_creates_demo_accounts():
    output = seed("--with-accounts")
    assert "admin@novacart.local / novacart-admin" in output
    assert "demo@novacart.local / novacart-demo" in output
    counts = (Category.objects.count(), Product.objects.count(), User.objects.count())
    assert counts == (len(fixture_records("products.category")), len(fixture_records("products.product")), 2)

    # A staff edit to a sample product survives the next run.
    edited = Product.objects.get(sku="SNX-EB-100")
    edited.stock = 1
    edited.save()

    output = seed("--with-accounts")
    assert "already present" in output
    assert (Category.objects.count(), Product.objects.count(), User.objects.count()) == counts
    edited.refresh_from_db()
    assert edited.stock == 1

    admin = User.objects.get(email="admin@novacart.local")
    assert admin.is_staff and admin.is_superuser
    demo = User.objects.get(email="demo@novacart.local")
    assert not demo.is_staff and not demo.is_superuser
    assert authenticate(username=admin.username, password="novacart-admin") == admin
    assert authenticate(username=demo.username, password="novacart-demo") == demo


def test_sample_catalogue_keeps_the_tree_and_history():
    seed("--no-accounts")
    audio = Category.objects.get(slug="audio")
    assert audio.parent.slug == "electronics"
    earbuds = Product.objects.get(sku="SNX-EB-100")
    assert earbuds.category == audio
    # Staggered creation times from the fixture, not all "now".
    assert Product.objects.values("created_at").distinct().count() == Product.objects.count()


def test_existing_accounts_are_never_modified():
    existing = User.objects.create_user(
        username="someone", email="ADMIN@novacart.local", password="own-pass-123"
    )
    seed("--with-accounts")
    existing.refresh_from_db()
    assert not existing.is_staff
    assert existing.check_password("own-pass-123")
    assert User.objects.filter(email__iexact="admin@novacart.local").count() == 1


def test_an_account_whose_password_changed_is_not_printed_with_the_demo_password():
    seed("--with-accounts")
    demo = User.objects.get(email="demo@novacart.local")
    demo.set_password("changed-by-the-user-1")
    demo.save()
    output = seed("--with-accounts")
    assert "demo@novacart.local / novacart-demo" not in output
    assert "demo@novacart.local / its password was changed" in output
    assert "admin@novacart.local / novacart-admin" in output  # unchanged, still printed
    demo.refresh_from_db()
    assert demo.check_password("changed-by-the-user-1")  # never modified


def test_no_accounts_when_debug_is_off_unless_forced(settings):
    settings.DEBUG = False
    output = seed()
    assert "not created" in output
    assert not User.objects.exists()
    assert Product.objects.exists()


def test_products_option_creates_exactly_n_and_is_repeatable():
    seed("--no-accounts", "--products", "2500")  # crosses a 2000-row batch
    generated = Product.objects.filter(sku__startswith="GEN-")
    assert generated.count() == 2500
    assert generated.values("brand").distinct().count() >= 40
    assert generated.values("category").distinct().count() == Category.objects.count()
    assert generated.filter(price__lt=0).count() == 0
    assert generated.filter(stock=0).exists()
    assert generated.values("slug").distinct().count() == 2500

    output = seed("--no-accounts", "--products", "2500")
    assert "nothing to add" in output
    assert generated.count() == 2500

    seed("--no-accounts", "--products", "2600")
    assert generated.count() == 2600


def test_products_option_fills_gaps_without_unique_violations():
    seed("--no-accounts", "--products", "50")
    Product.objects.filter(sku__in=["GEN-0000003", "GEN-0000010"]).delete()
    seed("--no-accounts", "--products", "60")
    assert Product.objects.filter(sku__startswith="GEN-").count() == 60


def test_generated_catalogue_is_served_by_the_api(api_client):
    seed("--no-accounts", "--products", "120")
    response = api_client.get(
        "/api/products/", {"category": "electronics", "ordering": "-price", "page_size": 5}
    )
    assert response.status_code == 200
    prices = [float(row["price"]) for row in response.json()["results"]]
    assert prices == sorted(prices, reverse=True)
    assert response.json()["count"] > 0


def test_negative_products_is_an_error():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        seed("--products", "-1")


def test_generated_clothing_sells_in_sizes_with_consistent_totals():
    from django.db.models import Count, F, Min, Q, Sum

    from products.models import ProductVariant

    seed("--no-accounts", "--products", "400")
    generated = Product.objects.filter(sku__startswith="GEN-")
    multi = generated.annotate(n=Count("variants")).filter(n__gt=1)
    # A realistic share: clothing is about one product in five.
    assert 0.1 * 400 < multi.count() < 0.35 * 400
    sized = ProductVariant.objects.filter(product__in=multi)
    assert set(sized.values_list("options__Size", flat=True)) == {"S", "M", "L", "XL"}
    assert sized.filter(options__has_key="Colour").exists()  # some in two colours
    assert sized.filter(stock=0).exists()  # some sizes sold out
    for variant in sized.select_related("product")[:50]:
        assert variant.sku.startswith(variant.product.sku + "-")
        assert variant.option_key  # bulk-created rows carry their normalised key
    # Every product's stored totals are its active variants' totals.
    mismatched = (
        Product.objects.annotate(
            active_stock=Sum("variants__stock", filter=Q(variants__is_active=True)),
            active_price=Min("variants__price", filter=Q(variants__is_active=True)),
        )
        .filter(active_stock__isnull=False)
        .exclude(stock=F("active_stock"), price=F("active_price"))
    )
    assert not mismatched.exists()
    # The sized sample products too.
    vest = Product.objects.get(sku="KNT-RV-001")
    assert sorted(vest.variants.values_list("sku", flat=True)) == [
        "KNT-RV-001-L",
        "KNT-RV-001-M",
        "KNT-RV-001-S",
        "KNT-RV-001-XL",
    ]
    assert vest.stock == 23
