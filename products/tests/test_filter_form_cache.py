"""ProductFilter builds its form class once per class (django-filter builds one per request),
shares the form's fields and copies its filters shallowly; each filterset still validates its
own data and filters through its own methods."""

import pytest

from products.filters import ProductFilter
from products.models import Category, Product

pytestmark = pytest.mark.django_db


def test_the_form_class_is_built_once_and_forms_are_separate():
    bad = ProductFilter(data={"min_price": "abc", "in_stock": "maybe"})
    good = ProductFilter(data={"min_price": "5", "ordering": "-price"})
    assert type(bad.form) is type(good.form)
    assert bad.form is not good.form
    assert bad.form.fields is not good.form.fields
    # The fields are only read while validating: shared, not deep-copied per form.
    assert bad.form.fields["min_price"] is good.form.fields["min_price"]
    assert not bad.is_valid()
    assert set(bad.errors) == {"min_price", "in_stock"}
    assert good.is_valid(), good.errors
    assert str(good.form.cleaned_data["min_price"]) == "5"
    assert not good.errors and set(bad.errors) == {"min_price", "in_stock"}


def test_each_filterset_has_its_own_filters_bound_to_itself():
    first, second = ProductFilter(data={}), ProductFilter(data={})
    for name, filter_ in first.filters.items():
        assert filter_ is not second.filters[name]
        assert filter_ is not ProductFilter.base_filters[name]
        assert filter_.parent is first and second.filters[name].parent is second
    # A `method=` filter calls the method of its own filterset, not another's.
    assert first.filters["category"].filter.method.__self__ is first
    assert second.filters["category"].filter.method.__self__ is second
    assert not hasattr(ProductFilter.base_filters["category"], "parent")


def test_an_inactive_category_filters_for_the_filterset_that_allows_it():
    """`include_inactive_categories` is per filterset: a staff filterset built next to a
    customer's finds the inactive category's products, the customer's finds none."""
    hidden = Category.objects.create(name="Hidden", slug="hidden", is_active=False)
    product = Product.objects.create(name="P", slug="p", sku="P-1", price="1.00", stock=1, category=hidden)
    staff = ProductFilter(data={"category": "hidden"}, queryset=Product.objects.all())
    staff.include_inactive_categories = True
    customer = ProductFilter(data={"category": "hidden"}, queryset=Product.objects.all())
    assert staff.is_valid() and customer.is_valid()
    assert list(customer.qs) == []
    assert list(staff.qs) == [product]
