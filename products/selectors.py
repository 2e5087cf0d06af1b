"""Catalog reads: product lists with filters, facets, and the category tree.

The category tree is small (tens to a few hundred rows), so "a category and everything under
it" is worked out in Python from one query of `(id, slug, parent_id, is_active)` rows instead of a
recursive SQL query per request.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, Max, Min, QuerySet

from .filters import ProductFilter
from .models import Category, Product, WishlistItem


def _is_staff(user) -> bool:
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
    return qs if _is_staff(user) else qs.filter(is_active=True)


# --- Products -------------------------------------------------------------------------------


def product_visible_queryset(*, user) -> QuerySet[Product]:
    """Products `user` may see: everything for staff, active products for everybody else."""
    qs = Product.objects.select_related("category")
    return qs if _is_staff(user) else qs.filter(is_active=True)


def product_list(*, filters: Mapping[str, Any], user) -> QuerySet[Product]:
    """The catalog as `user` sees it, filtered and ordered by `filters` (query parameters).

    Invalid filter values raise Django's `ValidationError` with a `{param: [message]}` dict,
    which the API renders as a 400.
    """
    filterset = ProductFilter(data=filters, queryset=product_visible_queryset(user=user))
    filterset.include_inactive_categories = _is_staff(user)
    if not filterset.is_valid():
        raise ValidationError(_errors_as_dict(filterset.errors))
    return filterset.qs


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


# --- Wishlist -------------------------------------------------------------------------------


def wishlist_item_list(*, user) -> QuerySet[WishlistItem]:
    """The user's wishlist, newest first, products and their categories joined in (one query)."""
    return (
        WishlistItem.objects.filter(user=user)
        .select_related("product__category")
        .order_by("-added_at", "-id")
    )
