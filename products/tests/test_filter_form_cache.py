"""ProductFilter builds its form class once per class (django-filter builds one per request);
each filterset still validates its own data."""

import pytest

from products.filters import ProductFilter

pytestmark = pytest.mark.django_db


def test_the_form_class_is_built_once_and_forms_are_separate():
    bad = ProductFilter(data={"min_price": "abc", "in_stock": "maybe"})
    good = ProductFilter(data={"min_price": "5", "ordering": "-price"})
    assert type(bad.form) is type(good.form)
    assert bad.form is not good.form
    assert bad.form.fields["min_price"] is not good.form.fields["min_price"]
    assert not bad.is_valid()
    assert set(bad.errors) == {"min_price", "in_stock"}
    assert good.is_valid(), good.errors
    assert str(good.form.cleaned_data["min_price"]) == "5"
