"""/api/categories/: plain-array list (active only for non-staff), staff writes with images."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from products.models import Category, Product
from products.tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db

LIST = "/api/categories/"
FIELDS = {
    "id",
    "name",
    "slug",
    "parent",
    "image",
    "mobile_image",
    "mobile_secondary_image",
    "desktop_image",
    "desktop_secondary_image",
    "is_active",
}


def png_file(name: str) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (3, 1), (0, 120, 200)).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def test_list_is_plain_array_of_active_categories(api_client, django_assert_max_num_queries):
    parent = CategoryFactory(name="Home", slug="home")
    CategoryFactory(name="Kitchen", slug="kitchen", parent=parent)
    CategoryFactory(name="Archived", slug="archived", is_active=False)

    with django_assert_max_num_queries(1):
        response = api_client.get(LIST)

    assert response.status_code == 200
    body = response.json()
    assert isinstance(body, list)
    assert [row["slug"] for row in body] == ["home", "kitchen"]
    assert set(body[0]) == FIELDS
    assert body[0]["parent"] is None
    assert body[1]["parent"] == parent.pk
    assert body[0]["image"] is None
    assert body[0]["desktop_secondary_image"] is None


def test_staff_list_includes_inactive(staff_client):
    CategoryFactory(slug="live")
    CategoryFactory(slug="archived", is_active=False)
    assert sorted(row["slug"] for row in staff_client.get(LIST).json()) == ["archived", "live"]


def test_inactive_category_detail_is_404_for_customers(auth_client, staff_client):
    category = CategoryFactory(is_active=False)
    assert auth_client.get(f"{LIST}{category.pk}/").status_code == 404
    assert staff_client.get(f"{LIST}{category.pk}/").status_code == 200


def test_staff_creates_category_with_generated_slug(staff_client):
    parent = CategoryFactory(slug="garden")
    response = staff_client.post(LIST, {"name": "Garden Tools", "parent": parent.pk}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["slug"] == "garden-tools"
    assert body["parent"] == parent.pk
    assert body["is_active"] is True
    assert Category.objects.get(pk=body["id"]).parent == parent


def test_staff_creates_category_with_banner_images(staff_client, settings):
    response = staff_client.post(
        LIST,
        {
            "name": "Summer Sale",
            "image": png_file("icon.png"),
            "mobile_image": png_file("mobile.png"),
            "desktop_image": png_file("desktop.png"),
        },
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["image"].startswith("http://testserver/media/categories/icon")
    assert body["mobile_image"].startswith("http://testserver/media/categories/banners/mobile")
    assert body["desktop_image"].startswith("http://testserver/media/categories/banners/desktop")
    assert body["mobile_secondary_image"] is None
    category = Category.objects.get(pk=body["id"])
    assert category.is_active is True
    assert (settings.MEDIA_ROOT / category.desktop_image.name).exists()


def test_duplicate_slug_is_400(staff_client):
    CategoryFactory(slug="toys")
    response = staff_client.post(LIST, {"name": "Toys", "slug": "toys"}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["slug"]
    assert Category.objects.filter(slug="toys").count() == 1
    # Without an explicit slug the name still works: the slug is made unique.
    generated = staff_client.post(LIST, {"name": "Toys"}, format="json")
    assert generated.status_code == 201
    assert generated.json()["slug"] == "toys-2"


@pytest.mark.parametrize(
    "payload", [{}, {"name": ""}, {"name": "X", "parent": 987654}, {"name": "X", "slug": "bad slug"}]
)
def test_create_validation_errors(staff_client, payload):
    response = staff_client.post(LIST, payload, format="json")
    assert response.status_code == 400
    assert not Category.objects.exists()


def test_patch_and_put(staff_client):
    category = CategoryFactory(name="Old", slug="old")
    response = staff_client.patch(f"{LIST}{category.pk}/", {"name": "New", "is_active": False}, format="json")
    assert response.status_code == 200
    category.refresh_from_db()
    assert (category.name, category.slug, category.is_active) == ("New", "old", False)

    response = staff_client.put(
        f"{LIST}{category.pk}/", {"name": "Renamed", "slug": "renamed"}, format="json"
    )
    assert response.status_code == 200
    category.refresh_from_db()
    assert (category.name, category.slug) == ("Renamed", "renamed")


def test_patch_banner_multipart_and_clear(staff_client):
    category = CategoryFactory()
    response = staff_client.patch(
        f"{LIST}{category.pk}/", {"mobile_secondary_image": png_file("m2.png")}, format="multipart"
    )
    assert response.status_code == 200
    assert response.json()["mobile_secondary_image"].startswith(
        "http://testserver/media/categories/banners/m2"
    )
    response = staff_client.patch(f"{LIST}{category.pk}/", {"mobile_secondary_image": None}, format="json")
    assert response.json()["mobile_secondary_image"] is None


def test_parent_cycle_is_400(staff_client):
    root = CategoryFactory()
    child = CategoryFactory(parent=root)
    grandchild = CategoryFactory(parent=child)
    for parent in (root, grandchild):
        response = staff_client.patch(f"{LIST}{root.pk}/", {"parent": parent.pk}, format="json")
        assert response.status_code == 400
        assert list(response.json()) == ["parent"]
    root.refresh_from_db()
    assert root.parent is None


def test_delete_moves_children_up_and_uncategorises_products(staff_client):
    root = CategoryFactory()
    middle = CategoryFactory(parent=root)
    leaf = CategoryFactory(parent=middle)
    product = ProductFactory(category=middle)

    response = staff_client.delete(f"{LIST}{middle.pk}/")

    assert response.status_code == 204
    assert not Category.objects.filter(pk=middle.pk).exists()
    leaf.refresh_from_db()
    assert leaf.parent == root
    product.refresh_from_db()
    assert product.category is None
    assert Product.objects.filter(pk=product.pk).exists()


def test_category_writes_need_staff(api_client, auth_client):
    category = CategoryFactory(name="Keep")
    assert api_client.post(LIST, {"name": "X"}, format="json").status_code == 401
    assert auth_client.post(LIST, {"name": "X"}, format="json").status_code == 403
    assert auth_client.patch(f"{LIST}{category.pk}/", {"name": "Y"}, format="json").status_code == 403
    assert auth_client.delete(f"{LIST}{category.pk}/").status_code == 403
    assert api_client.delete(f"{LIST}{category.pk}/").status_code == 401
    assert list(Category.objects.values_list("name", flat=True)) == ["Keep"]
