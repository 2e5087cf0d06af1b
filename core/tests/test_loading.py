"""`core.loading.DirectLoad`: instances loaded without `Model.__init__` equal Django's own, full
rows and `only()`/`defer()` rows alike, and Django's path is taken where they could differ."""

import pytest
from django.db.models import Model
from django.db.models.signals import post_init

from cart.models import Cart, CartItem
from core.loading import DirectLoad, direct_load_safe
from products.models import Category, Product, ProductVariant
from products.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def _django_loaded(instance):
    """The same row through `Model.from_db` (what every model did before DirectLoad)."""
    model = type(instance)
    names = [f.attname for f in model._meta.concrete_fields if f.attname in vars(instance)]
    values = [vars(instance)[name] for name in names]
    return Model.from_db.__func__(model, instance._state.db, names, values)


def _same(direct, django) -> None:
    assert type(direct) is type(django)
    state = {k: v for k, v in vars(direct).items() if k != "_state"}
    assert state == {k: v for k, v in vars(django).items() if k != "_state"}
    assert (direct._state.adding, direct._state.db) == (False, "default")
    assert (django._state.adding, django._state.db) == (False, "default")
    assert direct.get_deferred_fields() == django.get_deferred_fields()


@pytest.mark.parametrize("model", [Category, Product, ProductVariant, Cart, CartItem])
def test_the_models_are_safe_to_load_directly(model):
    assert issubclass(model, DirectLoad) and direct_load_safe(model)


def test_full_and_partial_rows_load_as_django_loads_them(django_assert_num_queries):
    product = ProductFactory(description="Long text")
    for queryset in (
        Product.objects.all(),
        Product.objects.only("name", "price", "category"),
        Product.objects.defer("description", "image"),
        Product.objects.select_related("category").only("name", "category__slug"),
        ProductVariant.objects.filter(product=product),
    ):
        direct = queryset.get()
        _same(direct, _django_loaded(direct))
    loaded = Product.objects.only("name").get()
    assert "description" not in vars(loaded)
    with django_assert_num_queries(1):  # a deferred field loads on access, as before
        assert loaded.description == "Long text"
    category = Product.objects.select_related("category").get().category
    assert isinstance(category, Category) and category.pk == product.category_id
    assert loaded.image.name == product.image.name  # the FileField descriptor wraps the stored name


def test_a_loaded_instance_saves_as_an_update():
    product = ProductFactory(name="Before")
    loaded = Product.objects.get(pk=product.pk)
    loaded.name = "After"
    loaded.save(update_fields=["name"])
    assert Product.objects.get(pk=product.pk).name == "After"
    assert Product.objects.count() == 1


def test_an_init_signal_receiver_gets_djangos_path():
    ProductFactory()
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance)

    post_init.connect(receiver, sender=Product)
    try:
        loaded = Product.objects.get()
    finally:
        post_init.disconnect(receiver, sender=Product)
    assert seen == [loaded]
