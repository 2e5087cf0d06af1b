"""Services and selectors called directly (also used by other apps and the admin)."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from core.exceptions import NotFound
from orders.models import Order, OrderItem
from products import selectors, services
from products.models import Category, Product
from products.services import _save_with_unique_fields
from products.tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


def test_category_resolve_by_id_or_slug():
    shoes = CategoryFactory(slug="shoes")
    numeric = CategoryFactory(slug="12345")
    assert selectors.category_resolve(value="shoes") == shoes
    assert selectors.category_resolve(value=str(shoes.pk)) == shoes
    assert selectors.category_resolve(value="12345") == numeric  # no category has id 12345
    assert selectors.category_resolve(value="missing") is None
    assert selectors.category_resolve(value="  ") is None


def test_category_descendant_ids(django_assert_num_queries):
    root = CategoryFactory()
    a = CategoryFactory(parent=root)
    b = CategoryFactory(parent=root)
    a1 = CategoryFactory(parent=a)
    CategoryFactory()  # unrelated
    with django_assert_num_queries(1):
        ids = selectors.category_descendant_ids(category=root)
    assert ids == sorted([root.pk, a.pk, b.pk, a1.pk])
    assert selectors.category_descendant_ids(category=a1) == [a1.pk]


def test_product_list_raises_validation_error_for_bad_filters():
    with pytest.raises(ValidationError) as excinfo:
        selectors.product_list(filters={"min_price": "abc"}, user=None)
    assert "min_price" in excinfo.value.message_dict


def test_product_create_minimal():
    product = services.product_create(name="Trail Mug", sku=" MUG-1 ", price=Decimal("9.5"))
    product.refresh_from_db()
    assert (product.slug, product.sku, product.stock, product.is_active) == ("trail-mug", "MUG-1", 0, True)


@pytest.mark.parametrize(("kwargs", "field"), [({"price": Decimal("-1")}, "price"), ({"stock": -1}, "stock")])
def test_product_create_rejects_negative_values(kwargs, field):
    with pytest.raises(ValidationError) as excinfo:
        services.product_create(**{"name": "X", "sku": "X", "price": Decimal("1"), **kwargs})
    assert field in excinfo.value.message_dict
    assert not Product.objects.exists()


def test_unique_sku_race_becomes_a_field_error():
    """The pre-check passed but a concurrent writer committed the SKU first: the insert's
    IntegrityError becomes a 400-style field error, and the transaction is still usable."""
    ProductFactory(sku="RACE-1")
    loser = Product(name="Loser", slug="loser", sku="RACE-1", price=Decimal("1"))
    with pytest.raises(ValidationError) as excinfo:
        _save_with_unique_fields(
            loser,
            update_fields=None,
            slug_explicit=False,
            slug_text="Loser",
            fallback="product",
            check_sku=True,
        )
    assert excinfo.value.message_dict == {"sku": ["A product with this SKU already exists."]}
    assert Product.objects.count() == 1


def test_generated_slug_race_is_retried_with_a_new_slug():
    ProductFactory(slug="lamp")
    late = Product(name="Lamp", slug="lamp", sku="LAMP-2", price=Decimal("1"))
    _save_with_unique_fields(
        late, update_fields=None, slug_explicit=False, slug_text="Lamp", fallback="product", check_sku=True
    )
    assert late.pk is not None
    assert late.slug == "lamp-2"


def test_product_update_rejects_unknown_fields():
    product = ProductFactory()
    with pytest.raises(TypeError):
        services.product_update(product=product, data={"owner": 1})


def test_product_delete_returns_whether_it_deleted(user):
    plain = ProductFactory()
    ordered = ProductFactory()
    order = Order.objects.create(
        number="NC-1", user=user, subtotal=Decimal("1"), total=Decimal("1"), currency="usd"
    )
    OrderItem.objects.create(
        order=order,
        product=ordered,
        product_name=ordered.name,
        sku=ordered.sku,
        unit_price=Decimal("1"),
        quantity=1,
        line_total=Decimal("1"),
    )
    assert services.product_delete(product=plain) is True
    assert services.product_delete(product=ordered) is False
    assert not Product.objects.filter(pk=plain.pk).exists()
    assert Product.objects.get(pk=ordered.pk).is_active is False
    with pytest.raises(NotFound):
        services.product_delete(product=plain)


def test_category_update_rejects_cycle_and_self():
    root = CategoryFactory()
    child = CategoryFactory(parent=root)
    for parent in (root, child):
        with pytest.raises(ValidationError) as excinfo:
            services.category_update(category=root, data={"parent": parent})
        assert "parent" in excinfo.value.message_dict
    root.refresh_from_db()
    assert root.parent is None


def test_category_create_and_delete():
    parent = services.category_create(name="Garden")
    child = services.category_create(name="Garden", parent=parent)
    assert (parent.slug, child.slug) == ("garden", "garden-2")
    grandchild = services.category_create(name="Seeds", parent=child)
    services.category_delete(category=child)
    grandchild.refresh_from_db()
    assert grandchild.parent == parent
    assert not Category.objects.filter(pk=child.pk).exists()
