"""Query-parameter filters of `GET /api/products/`.

Every parameter is validated by a form field, so a bad value (`min_price=abc`,
`ordering=bogus`, `in_stock=maybe`) is a 400 naming the parameter, never a 500.
"""

import copy
import itertools
from decimal import Decimal

import django_filters
from django import forms
from django.core.validators import ProhibitNullCharactersValidator
from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.fields.json import KeyTextTransform
from django.db.models.lookups import Exact
from django_filters.widgets import QueryArrayWidget
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .models import Category, Product, ProductVariant

MAX_PRICE_FILTER = Decimal("10000000000")
MAX_BRANDS = 50
MAX_OPTION_FILTERS = 10
ORDERING_FIELDS = ("price", "name", "created_at")
DEFAULT_ORDERING = ("-created_at",)


class MultipleValueField(forms.Field):
    """A repeatable text parameter (`?brand=A&brand=B`); commas are part of a value."""

    widget = QueryArrayWidget
    default_error_messages = {"too_many": "At most %(limit)s values are allowed."}

    def __init__(self, *args, max_values: int = MAX_BRANDS, max_length: int = 120, **kwargs):
        self.max_values = max_values
        self.max_length = max_length
        super().__init__(*args, **kwargs)

    def to_python(self, value) -> list[str]:
        if not value:
            return []
        if isinstance(value, str):
            value = [value]
        cleaned = []
        null_check = ProhibitNullCharactersValidator()
        for item in value:
            item = str(item).strip()
            if not item:
                continue
            null_check(item)
            if len(item) > self.max_length:
                raise forms.ValidationError(
                    f"Each value may have at most {self.max_length} characters.", code="max_length"
                )
            cleaned.append(item)
        if len(cleaned) > self.max_values:
            raise forms.ValidationError(
                self.error_messages["too_many"], code="too_many", params={"limit": self.max_values}
            )
        return cleaned


@extend_schema_field(
    serializers.ListField(
        child=serializers.CharField(), help_text="Repeatable (`?brand=A&brand=B`), case-insensitive."
    )
)
class MultipleValueFilter(django_filters.Filter):
    field_class = MultipleValueField


class OptionValueField(MultipleValueField):
    """`?option=Size:M` (repeatable): a list of `(name, value)` pairs, split at the first colon."""

    def to_python(self, value) -> list[tuple[str, str]]:
        pairs = []
        for item in super().to_python(value):
            name, sep, option_value = item.partition(":")
            if not sep or not name.strip() or not option_value.strip():
                raise forms.ValidationError(
                    "Use name:value, for example option=Size:M.", code="invalid_option"
                )
            pairs.append((name.strip(), option_value.strip()))
        return pairs


@extend_schema_field(
    serializers.ListField(
        child=serializers.CharField(),
        help_text="`name:value` (`?option=Size:M`), repeatable: products with an active variant that "
        "has every given value (AND across names; several values of one name match either). Exact, "
        "case-sensitive.",
    )
)
class OptionValueFilter(django_filters.Filter):
    field_class = OptionValueField


MAX_BIGINT = 9_223_372_036_854_775_807


def category_tree_sql(*, value: str, include_inactive: bool) -> RawSQL:
    """SQL for the ids of the category named by `value` (numeric id first, else slug) and of its
    descendants at any depth (`WITH RECURSIVE`, on PostgreSQL and SQLite alike). `UNION` (not
    `UNION ALL`) stops at rows already found, so a (mis-edited) cycle cannot loop."""
    table = connection.ops.quote_name(Category._meta.db_table)
    wanted_id = int(value) if value.isdigit() and int(value) <= MAX_BIGINT else None
    sql = (
        f"WITH RECURSIVE tree(id) AS ("  # noqa: S608 - the table name comes from the model
        f"SELECT c.id FROM {table} c WHERE c.id = COALESCE("
        f"(SELECT i.id FROM {table} i WHERE i.id = %s), (SELECT s.id FROM {table} s WHERE s.slug = %s)) "
        f"AND (c.is_active OR %s) "
        f"UNION SELECT child.id FROM {table} child JOIN tree ON child.parent_id = tree.id"
        f") SELECT tree.id FROM tree"
    )
    return RawSQL(sql, (wanted_id, value, include_inactive))  # noqa: S611 - values are parameters


def option_combinations(pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
    """`[("Size","M"), ("Size","L"), ("Colour","Red")]` -> `[{"Size":"M","Colour":"Red"},
    {"Size":"L","Colour":"Red"}]`: one variant must match one combination (values of one name
    are alternatives, names are all required)."""
    by_name: dict[str, list[str]] = {}
    for name, value in pairs:
        values = by_name.setdefault(name, [])
        if value not in values:
            values.append(value)
    names = list(by_name)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*by_name.values())]


def variant_options_match(combinations: list[dict[str, str]]) -> Q:
    """A condition on ProductVariant: its options contain one of `combinations`. On PostgreSQL
    that is JSONB containment (`options @> '{"Size": "M"}'`), which the GIN index
    `variant_options_gin` (jsonb_path_ops) serves; elsewhere a key-by-key comparison."""
    condition = Q()
    for combination in combinations:
        if connection.vendor == "postgresql":
            condition |= Q(options__contains=combination)
        else:
            part = Q()
            for name, value in combination.items():
                part &= Q(Exact(KeyTextTransform(name, "options"), value))
            condition |= part
    return condition


class DeferredOrderingFilter(django_filters.OrderingFilter):
    """Validates `ordering`/`sort`; `ProductFilter.filter_queryset` applies the result once,
    so the alias and the real name never fight over `order_by()`."""

    def filter(self, qs, value):
        return qs


class SharedFormFields(dict):
    """A form class's `base_fields` that each form shares instead of deep-copying.

    Django's `BaseForm.__init__` deep-copies every field (widget, validators, choices) so that a
    form may change its own fields; the filter form never does (validation only reads them: no
    rendering, no per-request choices or `required`), so the copy was a tenth of an uncached list
    request's CPU for nothing. Each form still gets its own dict, bound data and errors."""

    def __deepcopy__(self, memo) -> dict:
        return dict(self)


class SharedFilters(dict):
    """A FilterSet's `base_filters` whose per-instance copy is shallow.

    django-filter deep-copies every filter (with its form field, widget, choices) per FilterSet
    so that it can point each copy at its FilterSet (`parent`, which a `method=` filter calls).
    A shallow copy per filter does that too: the copy gets its own `model`, `parent` and its own
    method proxy bound to itself (re-assigning `method` rebuilds it), while the configuration
    it only reads (lookups, `extra`, choices) stays shared."""

    def __deepcopy__(self, memo) -> dict:
        copies = {}
        for name, filter_ in self.items():
            copied = copy.copy(filter_)
            if filter_.method is not None:
                copied.method = filter_.method
            copies[name] = copied
        return copies


class ProductFilter(django_filters.FilterSet):
    # Staff may filter by an inactive category; for everybody else it names nothing (empty page).
    include_inactive_categories = False
    category = django_filters.CharFilter(
        method="filter_category",
        max_length=140,
        help_text="Category slug or id; products of its sub-categories are included.",
    )
    brand = MultipleValueFilter(method="filter_brand")
    min_price = django_filters.NumberFilter(
        field_name="price", lookup_expr="gte", min_value=0, max_value=MAX_PRICE_FILTER
    )
    max_price = django_filters.NumberFilter(
        field_name="price", lookup_expr="lte", min_value=0, max_value=MAX_PRICE_FILTER
    )
    in_stock = django_filters.ChoiceFilter(
        method="filter_in_stock",
        choices=[("true", "true"), ("false", "false")],
        help_text="`true`: only products with stock; `false`: only products without.",
    )
    option = OptionValueFilter(method="filter_option", max_values=MAX_OPTION_FILTERS, max_length=160)
    search = django_filters.CharFilter(
        method="filter_search",
        max_length=200,
        help_text="Case-insensitive substring of the name, brand, description or SKU.",
    )
    ordering = DeferredOrderingFilter(
        fields=ORDERING_FIELDS, help_text="`price`, `-price`, `name`, `-name`, `created_at`, `-created_at`."
    )
    sort = DeferredOrderingFilter(fields=ORDERING_FIELDS, help_text="Alias of `ordering`.")

    class Meta:
        model = Product
        fields: list[str] = []

    @classmethod
    def _form_class(cls, filters) -> type:
        form_class = cls.__dict__.get("_cached_form_class")
        if form_class is None:
            fields = {name: filter_.field for name, filter_ in filters.items()}
            form_class = type(f"{cls.__name__}Form", (cls._meta.form,), fields)
            form_class.base_fields = SharedFormFields(form_class.base_fields)
            cls._cached_form_class = form_class  # a race builds it twice, identically: harmless
        return form_class

    def get_form_class(self):
        """django-filter builds a new form class (and a form field per filter) for every request;
        the fields depend only on this class's filters (no queryset or request-dependent choices),
        so the class is built once, and its forms share the fields (`SharedFormFields`)."""
        return self._form_class(self.filters)

    def filter_category(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """The category named by `value` (an id match wins over a slug) and every category below
        it, resolved inside the product query by a recursive subquery: no query of its own, so a
        filtered page costs what an unfiltered one does (the list's query budget). Same rules as
        `selectors.category_ids_for_filter`: an inactive category names nothing unless staff."""
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            category_id__in=category_tree_sql(value=value, include_inactive=self.include_inactive_categories)
        )

    def filter_brand(self, queryset: QuerySet, name: str, value: list[str]) -> QuerySet:
        if not value:
            return queryset
        condition = Q()
        for brand in value:
            condition |= Q(brand__iexact=brand)
        return queryset.filter(condition)

    def filter_option(self, queryset: QuerySet, name: str, value: list[tuple[str, str]]) -> QuerySet:
        if not value:
            return queryset
        variants = ProductVariant.objects.filter(product_id=OuterRef("pk"), is_active=True).filter(
            variant_options_match(option_combinations(value))
        )
        return queryset.filter(Exists(variants))

    def filter_in_stock(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == "true":
            return queryset.filter(stock__gt=0)
        if value == "false":
            return queryset.filter(stock=0)
        return queryset

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        term = value.strip()
        if not term:
            return queryset
        return queryset.filter(
            Q(name__icontains=term)
            | Q(brand__icontains=term)
            | Q(description__icontains=term)
            | Q(sku__icontains=term)
        )

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        queryset = super().filter_queryset(queryset)
        params = self.form.cleaned_data.get("ordering") or self.form.cleaned_data.get("sort") or []
        ordering = [self.filters["ordering"].get_ordering_value(param) for param in params if param]
        if not ordering:
            ordering = list(DEFAULT_ORDERING)
        # The id breaks ties (equal prices, bulk-created rows sharing a timestamp), so pages
        # never repeat or skip a product.
        tiebreak = "-id" if ordering[-1].startswith("-") else "id"
        return queryset.order_by(*ordering, tiebreak)


# Per request, copy the filters shallowly (`SharedFilters`), not deeply as django-filter does.
ProductFilter.base_filters = SharedFilters(ProductFilter.base_filters)
