"""Catalog and wishlist writes. Views, the admin, management commands and other apps (the cart's
"move to wishlist") all come through here.

Validation problems are raised as Django `ValidationError({field: [message]})`, which the API
renders as a 400 in DRF's shape; a missing object is `core.exceptions.NotFound`.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone
from django.utils.text import slugify

from core.catalog_cache import catalog_changed
from core.exceptions import NotFound

from .models import Category, Product, ProductVariant, WishlistItem
from .selectors import category_descendant_ids

PRODUCT_FIELDS = frozenset(
    {"name", "slug", "brand", "sku", "description", "price", "stock", "category", "image", "is_active"}
)
CATEGORY_IMAGE_FIELDS = (
    "image",
    "mobile_image",
    "mobile_secondary_image",
    "desktop_image",
    "desktop_secondary_image",
)
CATEGORY_FIELDS = frozenset({"name", "slug", "parent", "is_active", *CATEGORY_IMAGE_FIELDS})
# Generated slugs may lose a race with a concurrent create; they are recomputed this many times.
SLUG_ATTEMPTS = 5
SLUG_SUFFIX_ROOM = 8


# --- Helpers --------------------------------------------------------------------------------


def _others(model: type[models.Model], pk: int | None, **lookup: Any) -> models.QuerySet:
    qs = model.objects.filter(**lookup)
    return qs.exclude(pk=pk) if pk is not None else qs


def _unique_slug(
    model: type[models.Model], *, text: str, fallback: str, max_length: int, exclude_pk: int | None = None
) -> str:
    """`slugify(text)`, or `<slug>-2`, `-3`... when taken (one query for every taken variant)."""
    base = slugify(text)[: max_length - SLUG_SUFFIX_ROOM].strip("-") or fallback
    taken = set(
        _others(model, exclude_pk, slug__regex=rf"^{re.escape(base)}(-[0-9]+)?$").values_list(
            "slug", flat=True
        )
    )
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


def _file_value(value: File | None) -> File | str:
    # Image columns are NOT NULL: an empty name means "no image".
    return value if value else ""


def _assign_changes(
    instance: Product | Category, data: dict[str, Any], *, file_fields: tuple[str, ...], fallback: str
) -> list[str]:
    """Set `data` on `instance` for an update (file fields: a file, or None for none) and return the
    changed field names. A given empty `slug` is regenerated from the (new) name, made unique."""
    changed: list[str] = []
    for field, value in data.items():
        if field == "slug":
            continue
        setattr(instance, field, _file_value(value) if field in file_fields else value)
        changed.append(field)
    if "slug" in data:
        model = type(instance)
        instance.slug = data["slug"] or _unique_slug(
            model,
            text=instance.name,
            fallback=fallback,
            max_length=model._meta.get_field("slug").max_length,
            exclude_pk=instance.pk,
        )
        changed.append("slug")
    return changed


def _save_with_unique_fields(
    instance: Product | Category,
    *,
    update_fields: list[str] | None,
    slug_explicit: bool,
    slug_text: str,
    fallback: str,
    check_sku: bool,
) -> None:
    """Save `instance`, turning unique-constraint races into field errors (never a 500).

    A generated slug that a concurrent writer took in the meantime is recomputed and retried.
    """
    model = type(instance)
    max_length = model._meta.get_field("slug").max_length
    for _attempt in range(SLUG_ATTEMPTS):
        try:
            with transaction.atomic():
                instance.save(update_fields=update_fields)
            return
        except IntegrityError:
            if check_sku and _others(model, instance.pk, sku=instance.sku).exists():
                raise ValidationError({"sku": ["A product with this SKU already exists."]})
            if not _others(model, instance.pk, slug=instance.slug).exists():
                raise  # not a uniqueness problem we know how to answer
            if slug_explicit:
                raise ValidationError(
                    {"slug": [f"A {model._meta.verbose_name} with this slug already exists."]}
                )
            instance.slug = _unique_slug(
                model, text=slug_text, fallback=fallback, max_length=max_length, exclude_pk=instance.pk
            )
    raise ValidationError({"slug": ["Could not generate a unique slug; please provide one."]})


# --- Products -------------------------------------------------------------------------------


def _product_validate(*, price: Decimal | None, stock: int | None) -> None:
    errors: dict[str, list[str]] = {}
    if price is not None and Decimal(price) < 0:
        errors["price"] = ["The price may not be negative."]
    if stock is not None and int(stock) < 0:
        errors["stock"] = ["The stock may not be negative."]
    if errors:
        raise ValidationError(errors)


# Product columns the default variant (options {}) carries a copy of.
DEFAULT_VARIANT_FIELDS = ("sku", "price", "stock", "is_active")


@transaction.atomic
def product_create(
    *,
    name: str,
    sku: str,
    price: Decimal,
    slug: str | None = None,
    brand: str = "",
    description: str = "",
    stock: int = 0,
    category: Category | None = None,
    image: File | None = None,
    is_active: bool = True,
) -> Product:
    """Create a product. An empty `slug` is generated from the name and made unique; a given
    slug or an SKU that is already taken is a `ValidationError` on that field."""
    _product_validate(price=price, stock=stock)
    sku = sku.strip()
    if Product.objects.filter(sku=sku).exists():
        raise ValidationError({"sku": ["A product with this SKU already exists."]})
    slug_explicit = bool(slug)
    if slug_explicit and Product.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": ["A product with this slug already exists."]})
    product = Product(
        name=name,
        slug=slug or _unique_slug(Product, text=name, fallback="product", max_length=220),
        brand=brand.strip(),
        sku=sku,
        description=description,
        price=price,
        stock=stock,
        category=category,
        image=_file_value(image),
        is_active=is_active,
    )
    _save_with_unique_fields(
        product,
        update_fields=None,
        slug_explicit=slug_explicit,
        slug_text=name,
        fallback="product",
        check_sku=True,
    )
    # Every product sells through at least one variant: a product created without options gets
    # its default variant (options {}, the product's SKU, price and stock).
    ProductVariant.objects.create(
        product=product,
        sku=product.sku,
        options={},
        price=product.price,
        stock=product.stock,
        is_active=product.is_active,
    )
    catalog_changed()
    return product


@transaction.atomic
def default_variants_create_missing() -> int:
    """Give every product without a variant its default one (options {}, the product's SKU,
    price, stock and is_active) in one set-based INSERT ... SELECT, for bulk loaders such as
    `seed_demo` that skip `product_create`. Returns the number of variants created."""
    variant = ProductVariant._meta.db_table
    product = Product._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {variant} "  # noqa: S608 - table names come from the models
            "(product_id, sku, options, option_key, price, stock, is_active, created_at, updated_at) "
            f"SELECT p.id, p.sku, '{{}}', '', p.price, p.stock, p.is_active, %s, %s FROM {product} p "
            f"WHERE NOT EXISTS (SELECT 1 FROM {variant} v WHERE v.product_id = p.id)",
            [timezone.now(), timezone.now()],
        )
        added = cursor.rowcount
    if added:
        catalog_changed()
    return added


@transaction.atomic
def product_update(*, product: Product, data: dict[str, Any]) -> Product:
    """Change the given fields of `product` (keys of `PRODUCT_FIELDS`; `category` is a Category or
    None, `image` a file or None to remove it). An empty `slug` regenerates it from the name.

    Only the changed columns are written, so a concurrent stock reservation by an order is never
    overwritten by a stale value (unless `stock` itself is being set).
    """
    unknown = set(data) - PRODUCT_FIELDS
    if unknown:
        raise TypeError(f"product_update() got unknown fields: {sorted(unknown)}")
    _product_validate(price=data.get("price"), stock=data.get("stock"))
    if "sku" in data:
        data = {**data, "sku": data["sku"].strip()}
        if _others(Product, product.pk, sku=data["sku"]).exists():
            raise ValidationError({"sku": ["A product with this SKU already exists."]})
    if "brand" in data:
        data = {**data, "brand": (data["brand"] or "").strip()}

    slug_explicit = bool(data.get("slug"))
    if slug_explicit and _others(Product, product.pk, slug=data["slug"]).exists():
        raise ValidationError({"slug": ["A product with this slug already exists."]})

    changed = _assign_changes(product, data, file_fields=("image",), fallback="product")
    if not changed:
        return product
    _save_with_unique_fields(
        product,
        update_fields=[*changed, "updated_at"],
        slug_explicit=slug_explicit,
        slug_text=product.name,
        fallback="product",
        check_sku=True,
    )
    mirrored = {field: getattr(product, field) for field in DEFAULT_VARIANT_FIELDS if field in changed}
    if mirrored:
        # Until stock moves to variant rows, the default variant mirrors the product row.
        ProductVariant.objects.filter(product=product, option_key="").update(**mirrored)
    catalog_changed()
    return product


@transaction.atomic
def product_delete(*, product: Product) -> bool:
    """Delete `product`, or deactivate it when any order line refers to it.

    Returns True when the row was deleted, False when it was deactivated instead (order history
    keeps its snapshot and the product stays linkable for staff). The row is locked first, so
    an order being placed for it at the same moment either finishes before (and the product is
    deactivated) or finds it gone.
    """
    locked = Product.objects.select_for_update().filter(pk=product.pk).first()
    if locked is None:
        raise NotFound("Product not found.")
    catalog_changed()
    if locked.order_items.exists():
        if locked.is_active:
            locked.is_active = False
            locked.save(update_fields=["is_active", "updated_at"])
        product.is_active = False
        return False
    locked.delete()
    return True


# --- Categories -----------------------------------------------------------------------------


def _category_check_parent(*, category: Category | None, parent: Category | None) -> None:
    if parent is None or category is None or category.pk is None:
        return
    if parent.pk in category_descendant_ids(category=category):
        raise ValidationError(
            {"parent": ["A category cannot be placed under itself or one of its sub-categories."]}
        )


@transaction.atomic
def category_create(
    *,
    name: str,
    slug: str | None = None,
    parent: Category | None = None,
    is_active: bool = True,
    image: File | None = None,
    mobile_image: File | None = None,
    mobile_secondary_image: File | None = None,
    desktop_image: File | None = None,
    desktop_secondary_image: File | None = None,
) -> Category:
    slug_explicit = bool(slug)
    if slug_explicit and Category.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": ["A category with this slug already exists."]})
    category = Category(
        name=name,
        slug=slug or _unique_slug(Category, text=name, fallback="category", max_length=140),
        parent=parent,
        is_active=is_active,
        image=_file_value(image),
        mobile_image=_file_value(mobile_image),
        mobile_secondary_image=_file_value(mobile_secondary_image),
        desktop_image=_file_value(desktop_image),
        desktop_secondary_image=_file_value(desktop_secondary_image),
    )
    _save_with_unique_fields(
        category,
        update_fields=None,
        slug_explicit=slug_explicit,
        slug_text=name,
        fallback="category",
        check_sku=False,
    )
    catalog_changed()
    return category


@transaction.atomic
def category_update(*, category: Category, data: dict[str, Any]) -> Category:
    """Change the given fields (keys of `CATEGORY_FIELDS`; image fields take a file or None).
    Moving a category under itself or one of its descendants is a `ValidationError`."""
    unknown = set(data) - CATEGORY_FIELDS
    if unknown:
        raise TypeError(f"category_update() got unknown fields: {sorted(unknown)}")
    if "parent" in data:
        _category_check_parent(category=category, parent=data["parent"])
    slug_explicit = bool(data.get("slug"))
    if slug_explicit and _others(Category, category.pk, slug=data["slug"]).exists():
        raise ValidationError({"slug": ["A category with this slug already exists."]})

    changed = _assign_changes(category, data, file_fields=CATEGORY_IMAGE_FIELDS, fallback="category")
    if not changed:
        return category
    _save_with_unique_fields(
        category,
        update_fields=changed,
        slug_explicit=slug_explicit,
        slug_text=category.name,
        fallback="category",
        check_sku=False,
    )
    catalog_changed()
    return category


@transaction.atomic
def category_delete(*, category: Category) -> None:
    """Delete a category. Its sub-categories move up to its parent (the tree stays connected);
    its products become uncategorised (`category: null`), they are not deleted."""
    Category.objects.filter(parent=category).update(parent=category.parent_id)
    category.delete()
    catalog_changed()


# --- Wishlist -------------------------------------------------------------------------------


@transaction.atomic
def wishlist_item_add(*, user, product_id: int) -> tuple[WishlistItem, bool]:
    """Put an active product on the user's wishlist; `(item, created)`.

    Adding a product that is already there returns the existing row (`created=False`). The
    unique constraint on (user, product) settles concurrent adds: `get_or_create` inserts in a
    savepoint and falls back to reading the row the other request committed.
    Raises `NotFound` for a missing or inactive product.
    """
    product = Product.objects.select_related("category").filter(pk=product_id, is_active=True).first()
    if product is None:
        raise NotFound("Product not found.")
    item, created = WishlistItem.objects.get_or_create(user=user, product=product)
    item.product = product
    return item, created


@transaction.atomic
def wishlist_item_remove(*, user, item_id: int) -> None:
    """Remove one of the user's wishlist rows; another user's row (or none) is `NotFound`."""
    deleted, _ = WishlistItem.objects.filter(user=user, pk=item_id).delete()
    if not deleted:
        raise NotFound("Wishlist item not found.")
