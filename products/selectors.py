"""Catalog reads: product lists with filters, facets, and the category tree.

The category tree is small (tens to a few hundred rows), so "a category and everything under
it" is worked out in Python from one query of `(id, slug, parent_id, is_active)` rows instead of a
recursive SQL query per request.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

from django.contrib.postgres.aggregates import JSONBAgg
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.db.models import (
    BigIntegerField,
    Count,
    F,
    FilteredRelation,
    Max,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    TextField,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, JSONObject

from core.ids import as_id
from core.prepared import CompiledCount, PreparedQuery, QueryMemo

from .filters import ProductFilter
from .models import Category, Product, ProductVariant, WishlistItem

# The attribute the variants prefetch fills (a list, in variant id order); the product output
# serializer renders `variants` and `options` from it.
VARIANTS_ATTR = "listed_variants"


# The product columns the product output shows (`serializers.product_output`): all of them today.
PRODUCT_SHOWN_COLUMNS = (
    "id",
    "name",
    "slug",
    "brand",
    "sku",
    "description",
    "price",
    "stock",
    "category",
    "image",
    "is_active",
    "created_at",
    "updated_at",
)

PRODUCT_READ_COLUMNS = (*PRODUCT_SHOWN_COLUMNS, "category__name", "category__slug")

# The variant columns the product output shows (`serializers.variant_dict`): the attached
# variants load only these (no timestamps to parse per variant). Another field read loads on access.
VARIANT_SHOWN_COLUMNS = ("id", "product_id", "sku", "options", "price", "stock", "is_active")


def reader_is_staff(user) -> bool:
    """Whether `user` (None or anonymous included) reads the catalog as staff: inactive products
    and variants too."""
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.is_staff)


# --- Categories -----------------------------------------------------------------------------


Row = tuple[int, str, int | None, bool]  # id, slug, parent_id, is_active


def _category_rows() -> list[Row]:
    return list(Category.objects.order_by().values_list("id", "slug", "parent_id", "is_active"))


def _descendants(rows: list[Row], root_id: int) -> list[int]:
    children: dict[int | None, list[int]] = defaultdict(list)
    for category_id, _slug, parent_id, _active in rows:
        children[parent_id].append(category_id)
    found: list[int] = []
    seen: set[int] = set()
    stack = [root_id]
    while stack:  # iterative, and `seen` makes a (mis-edited) cycle harmless
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        found.append(current)
        stack.extend(children.get(current, ()))
    return sorted(found)


def _match(rows: list[Row], value: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        wanted = int(value)
        for category_id, _slug, _parent, _active in rows:
            if category_id == wanted:
                return category_id
    # Not an id (or no category has that id): a slug, which may itself be all digits.
    for category_id, slug, _parent, _active in rows:
        if slug == value:
            return category_id
    return None


def category_resolve(*, value: str) -> Category | None:
    """The category named by `value`: a numeric id or a slug (an id match wins)."""
    category_id = _match(_category_rows(), value)
    return Category.objects.get(pk=category_id) if category_id is not None else None


def category_descendant_ids(*, category: Category) -> list[int]:
    """The ids of `category` and of every category below it, at any depth (one query)."""
    return _descendants(_category_rows(), category.pk)


def category_ids_for_filter(*, value: str, include_inactive: bool = False) -> list[int] | None:
    """`?category=` semantics in one query: the named category (id or slug) and its descendants,
    or None when no category matches. An inactive category names nothing unless
    `include_inactive` (staff), as its detail is a 404: the caller answers an empty page."""
    rows = _category_rows()
    root_id = _match(rows, value)
    if root_id is None:
        return None
    if not include_inactive and not next(active for pk, _slug, _parent, active in rows if pk == root_id):
        return None
    return _descendants(rows, root_id)


def category_list(*, user) -> QuerySet[Category]:
    """All categories for staff; only active ones for everybody else."""
    qs = Category.objects.order_by("name", "id")
    return qs if reader_is_staff(user) else qs.filter(is_active=True)


# --- Products -------------------------------------------------------------------------------


def product_visible_queryset(*, user) -> QuerySet[Product]:
    """Products `user` may see: everything for staff, active products for everybody else."""
    return _visible(staff=reader_is_staff(user))


def _visible(*, staff: bool) -> QuerySet[Product]:
    qs = Product.objects.select_related("category")
    return qs if staff else qs.filter(is_active=True)


def product_variants_prefetch(*, user, lookup: str = "variants") -> Prefetch:
    """One query for the variants of every product of a page: all of them for staff, the active
    ones for everybody else, in id order, into `<product>.listed_variants`. `lookup` lets another
    app prefetch through its own relation (`"product__variants"`)."""
    qs = ProductVariant.objects.order_by("product_id", "id")
    if not reader_is_staff(user):
        qs = qs.filter(is_active=True)
    return Prefetch(lookup, queryset=qs, to_attr=VARIANTS_ATTR)


def product_read_queryset(*, user) -> QuerySet[Product]:
    """`product_visible_queryset` loading only what the product output shows (the category's
    id, name and slug, not its images and timestamps): for the catalog's reads, not its writes."""
    return product_visible_queryset(user=user).only(*PRODUCT_READ_COLUMNS)


# The variant columns in model field order (`Model.from_db` takes the values in that order), each
# read by the detail's one query as an annotation `_variant_<attname>` of the product row.
_VARIANT_FIELDS = tuple(
    field for field in ProductVariant._meta.concrete_fields if field.attname in VARIANT_SHOWN_COLUMNS
)
_VARIANT_ATTNAMES = tuple(field.attname for field in _VARIANT_FIELDS)
_VARIANT_ANNOTATIONS = tuple(f"_variant_{attname}" for attname in _VARIANT_ATTNAMES)


def _product_read(staff: bool):
    """The product and the variants the reader may see in one query: the product row joined
    (LEFT OUTER) to each shown variant, in variant id order; a product without one is one row
    of NULL variant columns."""

    def build(product_id):
        condition = Q() if staff else Q(variants__is_active=True)
        return (
            _visible(staff=staff)
            .only(*PRODUCT_READ_COLUMNS)
            .filter(pk=product_id)
            .annotate(shown_variant=FilteredRelation("variants", condition=condition))
            .annotate(
                **{
                    annotation: F(f"shown_variant__{field.name}")
                    for field, annotation in zip(_VARIANT_FIELDS, _VARIANT_ANNOTATIONS, strict=True)
                }
            )
            .order_by("shown_variant__id")
        )

    return PreparedQuery(build)


# One product by id as the detail reads it, compiled once (core.prepared): staff, everybody else.
_PRODUCT_READ = {True: _product_read(True), False: _product_read(False)}


def product_read(*, product_id: Any, user) -> Product | None:
    """The product `product_id` names (a URL's string or an int) as `product_read_queryset` loads
    it, with `listed_variants` as `product_variants_attach` gives them, from one query; or None
    when `user` may not see it, it does not exist or the id is not one."""
    product_id = as_id(product_id)
    if product_id is None:
        return None
    rows = _PRODUCT_READ[reader_is_staff(user)](product_id)
    if not rows:
        return None
    product = rows[0]
    variants = []
    for row in rows:
        values = [getattr(row, annotation) for annotation in _VARIANT_ANNOTATIONS]
        if values[0] is not None:  # else the LEFT JOIN's row of a product without a shown variant
            variants.append(ProductVariant.from_db(product._state.db, _VARIANT_ATTNAMES, values))
    for annotation in _VARIANT_ANNOTATIONS:
        delattr(product, annotation)
    _list_variants(product, variants)
    return product


def _list_variants(product: Product, variants: list[ProductVariant]) -> None:
    """`<product>.listed_variants = variants`, each variant with its product cached."""
    cache_product = ProductVariant.product.field.set_cached_value
    for variant in variants:
        cache_product(variant, product)
    setattr(product, VARIANTS_ATTR, variants)


def _variants_of(staff: bool):
    def build(product_ids):
        qs = ProductVariant.objects.filter(product_id__in=product_ids).order_by("product_id", "id")
        qs = qs if staff else qs.filter(is_active=True)
        return qs.only(*VARIANT_SHOWN_COLUMNS)

    return PreparedQuery(build)


# The variants of some products, compiled once (core.prepared): all of them, or the active ones.
_VARIANTS_OF = {True: _variants_of(True), False: _variants_of(False)}


def product_variants_attach(products: Iterable[Product], *, user) -> None:
    """What `product_variants_prefetch` gives (`<product>.listed_variants`: the variants `user` may
    see, in id order, each with its product cached), for products already loaded: one query for
    all of them, without the prefetch machinery (a quarter of an uncached list page's CPU) and
    with its SQL compiled once (`core.prepared`). The same product may come twice (two cart lines
    of one product): each copy gets the list."""
    products = list(products)
    if not products:
        return
    variants = _VARIANTS_OF[reader_is_staff(user)](sorted({product.pk for product in products}))
    by_product: dict[int, list[ProductVariant]] = defaultdict(list)
    for variant in variants:
        by_product[variant.product_id].append(variant)
    for product in products:
        _list_variants(product, by_product.get(product.pk, []))


# The column `variants_inline` adds: the row's product's shown variants as one JSON array.
_VARIANTS_JSON = "_shown_variants_json"


def _variants_json(*, staff: bool, product_ref: str) -> Subquery:
    """The variants `staff` may see of the product whose id is the outer query's `product_ref`, in
    id order, as a JSON array of objects keyed by attname (the price as text, so it stays exact);
    NULL when there are none."""
    variants = ProductVariant.objects.filter(product_id=OuterRef(product_ref))
    if not staff:
        variants = variants.filter(is_active=True)
    shown = {attname: attname for attname in _VARIANT_ATTNAMES if attname != "product_id"}
    shown["price"] = Cast("price", TextField())
    return Subquery(
        variants.order_by()
        .values("product_id")
        .annotate(shown=JSONBAgg(JSONObject(**shown), order_by="id"))
        .values("shown")
    )


def variants_inline(queryset: QuerySet, *, staff: bool, product_ref: str = "pk") -> QuerySet:
    """`queryset` with the variants a reader sees (all of them for staff, else the active ones) of
    each row's product (`product_ref`: the path to the product's id from the row) as one more
    column, so the rows and their variants come from one query: one round trip fewer than
    `product_variants_attach`, and on a threaded worker a round trip is most of what a small query
    costs (docs/bench.md, eighth look). PostgreSQL only (`JSONB_AGG`); on other databases
    `queryset` is returned as it is and `variants_take` reads the variants with
    `product_variants_attach`."""
    if connections[queryset.db].vendor != "postgresql":
        return queryset
    return queryset.annotate(**{_VARIANTS_JSON: _variants_json(staff=staff, product_ref=product_ref)})


def variants_take(rows: list, *, user, product: Callable[[Any], Product] = lambda row: row) -> None:
    """Give each row's product (`product(row)`) its `listed_variants`, as `product_variants_attach`
    does: from the column `variants_inline` added to the rows (for a reader of `user`'s kind), or
    else from one query."""
    if not rows or _VARIANTS_JSON not in rows[0].__dict__:
        product_variants_attach([product(row) for row in rows], user=user)
        return
    for row in rows:
        owner = product(row)
        db, owner_id = owner._state.db, owner.pk
        shown = row.__dict__.pop(_VARIANTS_JSON) or ()
        _list_variants(owner, [_variant_from_json(db, owner_id, item) for item in shown])


_PRODUCT_ID_AT = _VARIANT_ATTNAMES.index("product_id")
_PRICE_AT = _VARIANT_ATTNAMES.index("price")


def _variant_from_json(db: str, product_id: int, item: dict) -> ProductVariant:
    """The variant `from_db` builds from one object of `_variants_json`'s array (which leaves the
    product's id out and carries the price as text)."""
    values = [item.get(attname) for attname in _VARIANT_ATTNAMES]
    values[_PRODUCT_ID_AT] = product_id
    values[_PRICE_AT] = Decimal(values[_PRICE_AT])
    return ProductVariant.from_db(db, _VARIANT_ATTNAMES, values)


def variants_listed(product: Product) -> bool:
    """Whether `product` already has its `listed_variants` (from `variants_take` or an attach)."""
    return VARIANTS_ATTR in product.__dict__


def product_detail_queryset(*, user) -> QuerySet[Product]:
    """`product_visible_queryset` with the variants `user` may see prefetched (one more query)."""
    return product_visible_queryset(user=user).prefetch_related(product_variants_prefetch(user=user))


def product_list(*, filters: Mapping[str, Any], user) -> QuerySet[Product]:
    """The catalog as `user` sees it, filtered and ordered by `filters` (query parameters).

    Invalid filter values raise Django's `ValidationError` with a `{param: [message]}` dict,
    which the API renders as a 400.
    """
    filterset = ProductFilter(data=filters, queryset=product_visible_queryset(user=user))
    filterset.include_inactive_categories = reader_is_staff(user)
    if not filterset.is_valid():
        raise ValidationError(_errors_as_dict(filterset.errors))
    return filterset.qs


# The product lists' SQL by filter set (core.prepared.QueryMemo): a list whose filters were seen
# before in this thread runs its stored SQL, without building the FilterSet and compiling again.
# A bound per thread, not per process: 256 entries of about 4.8 KB (SQL text, parameters,
# converters; measured with tracemalloc), some 1.2 MB per thread when full.
_LIST_SQL = QueryMemo(maxsize=256)


def _filters_key(filters: Mapping[str, Any], *, staff: bool) -> tuple:
    """What `product_list`'s queryset depends on: the reader's kind and every value of every
    parameter the FilterSet reads (other parameters, like `page`, do not change it)."""
    named = []
    for name in ProductFilter.base_filters:
        if name in filters:
            values = filters.getlist(name) if hasattr(filters, "getlist") else filters[name]
            named.append((name, tuple(values) if isinstance(values, list | tuple) else (values,)))
    return (staff, tuple(named))


_TOTAL = "_list_total"  # the annotation carrying the total in `rows_with_total`


class ProductListSource:
    """`product_list(filters, user).only(*PRODUCT_READ_COLUMNS)` for a paginator
    (`core.pagination.CachedCountPaginator`): `compiled_count().run()`, `[start:stop]` and
    `rows_with_total` give what the queryset's count and slices give, from SQL compiled once per
    filter set and page (`_LIST_SQL`); the FilterSet runs (and validates the filters) only when a
    filter set is new to the thread."""

    ordered = True  # the FilterSet always orders (with an id tie-break)

    def __init__(self, *, filters: Mapping[str, Any], user):
        self._filters = filters
        self._user = user
        self._key = ("page", _filters_key(filters, staff=reader_is_staff(user)))
        self._queryset: QuerySet[Product] | None = None
        if not _LIST_SQL.knows_count(self._key):
            # A filter set new to this thread: build now, so invalid filters are a 400 before the
            # paginator reads `page` (as with a queryset); a known one was valid when first built.
            self.queryset()

    def queryset(self) -> QuerySet[Product]:
        if self._queryset is None:
            self._queryset = product_list(filters=self._filters, user=self._user).only(*PRODUCT_READ_COLUMNS)
        return self._queryset

    def compiled_count(self) -> CompiledCount:
        return _LIST_SQL.compiled_count(self._key, self.queryset)

    def rows_with_total(self, start: int, stop: int) -> tuple[list[Product], int | None]:
        """`self[start:stop]` and the filter set's total from one query: the compiled COUNT runs
        inside the page's SELECT as an uncorrelated scalar subquery, which the database evaluates
        once (PostgreSQL: an InitPlan, the plan the separate COUNT runs, executed once), so the
        total costs no round trip of its own. The total is None when the page has no rows."""
        count = self.compiled_count()
        if count.statement is None:
            return [], 0

        def build() -> QuerySet[Product]:  # only when this page is new to the thread
            # The COUNT's SQL is Django's compiled query (`CompiledCount`); values stay parameters.
            total_sql = RawSQL(*count.statement, BigIntegerField())  # noqa: S611
            return self._with_variants(self.queryset().annotate(**{_TOTAL: total_sql}), start)[start:stop]

        rows = _LIST_SQL.rows(("total", *self._key, start, stop), build)
        total = None
        for product in rows:
            total = product.__dict__.pop(_TOTAL)
        variants_take(rows, user=self._user)
        return rows, total

    def __getitem__(self, index: slice) -> list[Product]:
        if not isinstance(index, slice) or index.step is not None:
            raise TypeError("ProductListSource takes a [start:stop] slice.")
        key = (*self._key, index.start, index.stop)
        rows = _LIST_SQL.rows(key, lambda: self._with_variants(self.queryset(), index.start)[index])
        variants_take(rows, user=self._user)
        return rows

    def _with_variants(self, queryset: QuerySet[Product], start: int | None) -> QuerySet[Product]:
        # The first page only: PostgreSQL computes a select-list subquery for every row an OFFSET
        # skips too (the projection sits below the Limit), so a deep page would aggregate the
        # variants of all the products before it; later pages read them in one more query
        # (`variants_take` falls back to `product_variants_attach`). Whether the reader is staff
        # is part of `self._key`, so the memoised SQL fits the reader.
        if start:
            return queryset
        return variants_inline(queryset, staff=reader_is_staff(self._user))


def product_storefront_rows(
    *, filters: Mapping[str, Any], columns: tuple[str, ...], limit: int
) -> list[tuple]:
    """`product_list(filters)` as customers see it, the first `limit` products as `values_list(*columns)`
    rows, from SQL compiled once per filter set (`_LIST_SQL`)."""
    key = ("rows", _filters_key(filters, staff=False), columns, limit)
    return _LIST_SQL.rows(
        key,
        lambda: product_list(filters=filters, user=None).select_related(None).values_list(*columns)[:limit],
    )


def _errors_as_dict(errors) -> dict[str, list[str]]:
    return {field: [str(message) for message in messages] for field, messages in errors.items()}


def _active_in_category(*, category: str | None) -> QuerySet[Product] | None:
    """Active products, narrowed to `category` (and descendants) when given; None if no such category."""
    qs = Product.objects.filter(is_active=True)
    if category is not None and category.strip():
        ids = category_ids_for_filter(value=category)
        if ids is None:
            return None
        qs = qs.filter(category_id__in=ids)
    return qs


def product_brand_facets(*, category: str | None = None) -> list[dict[str, Any]]:
    """`[{brand, count}]` over active products with a brand, ordered by brand."""
    qs = _active_in_category(category=category)
    if qs is None:
        return []
    rows = qs.exclude(brand="").values("brand").annotate(count=Count("id")).order_by("brand")
    return [{"brand": row["brand"], "count": row["count"]} for row in rows]


def product_price_range(*, category: str | None = None) -> dict[str, Decimal | None]:
    """`{min_price, max_price}` over active products (both None when there are none)."""
    qs = _active_in_category(category=category)
    if qs is None:
        return {"min_price": None, "max_price": None}
    return qs.order_by().aggregate(min_price=Min("price"), max_price=Max("price"))


def product_option_facets(*, category: str | None = None) -> list[dict[str, Any]]:
    """`[{name, values: [{value, count}]}]` over the active variants of active products (in
    `category` and below when given): `count` is the number of products with an active variant
    of that value. Names and values come in the order they were first created (variant id), so a
    size facet reads S, M, L, XL as staff added them. One query, grouped in the database."""
    qs = _active_in_category(category=category)
    if qs is None:
        return []
    variants = ProductVariant.objects.filter(is_active=True, product__in=qs.values("pk")).order_by()
    inner_sql, params = variants.values("id", "product_id", "options").query.sql_with_params()
    if connection.vendor == "postgresql":
        pairs = "jsonb_each_text(t.options) AS j(key, value)"
    else:  # SQLite's JSON1
        pairs = "json_each(t.options) AS j"
    sql = (
        "SELECT j.key, j.value, COUNT(DISTINCT t.product_id), MIN(t.id) "  # noqa: S608 - no user text
        f"FROM ({inner_sql}) AS t, {pairs} GROUP BY j.key, j.value"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    first_seen: dict[str, int] = {}
    values: dict[str, list[tuple[int, str, int]]] = defaultdict(list)
    for name, value, count, first_id in rows:
        first_seen[name] = min(first_seen.get(name, first_id), first_id)
        values[name].append((first_id, str(value), count))
    return [
        {
            "name": name,
            "values": [{"value": value, "count": count} for _id, value, count in sorted(values[name])],
        }
        # Names first seen on the same variant: shorter first, as PostgreSQL's jsonb orders keys.
        for name in sorted(first_seen, key=lambda name: (first_seen[name], len(name), name))
    ]


# --- Wishlist -------------------------------------------------------------------------------


def wishlist_item_list(*, user) -> QuerySet[WishlistItem]:
    """The user's wishlist, newest first, products and their categories joined in (one query)."""
    return (
        WishlistItem.objects.filter(user=user)
        .select_related("product__category")
        .order_by("-added_at", "-id")
    )
