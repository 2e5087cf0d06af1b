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
from django.db.models import F, Min, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.text import slugify

from core.catalog_cache import catalog_changed
from core.exceptions import ApplicationError, NotFound

from .models import Category, Product, ProductVariant, WishlistItem, option_key
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
    variants: list[dict[str, Any]] | None = None,
) -> Product:
    """Create a product. An empty `slug` is generated from the name and made unique; a given
    slug or an SKU that is already taken is a `ValidationError` on that field.

    Without `variants` the product gets its default variant (options {}, the product's SKU, price
    and stock). With `variants` (`[{sku, options, price?, stock?, is_active?}]`, price defaulting
    to the product's) those are created instead, and the product's stored `price` and `stock`
    become their totals (lowest active price, summed active stock); at least one must be active.
    Errors in the variants are `{"variants": ["Variant 2: sku: ..."]}` and nothing is written."""
    _product_validate(price=price, stock=stock)
    if variants is not None:
        variants = _variants_validate_new(variants, default_price=price)
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
    if variants:
        for number, spec in enumerate(variants, start=1):
            _variant_insert(product=product, spec=spec, number=number)
        product_totals_refresh(product_ids=[product.pk])
        product.refresh_from_db(fields=["price", "stock", "updated_at"])
    else:
        # Every product sells through at least one variant: a product created without options
        # gets its default variant (options {}, the product's SKU, price and stock).
        _variant_insert(
            product=product,
            spec={
                "sku": product.sku,
                "options": {},
                "price": product.price,
                "stock": product.stock,
                "is_active": product.is_active,
            },
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
    data = _product_totals_through_variant(product=product, data=data)
    if "sku" in data:
        data = {**data, "sku": data["sku"].strip()}
        if _others(Product, product.pk, sku=data["sku"]).exists():
            raise ValidationError({"sku": ["A product with this SKU already exists."]})
        if _default_variant_sku_taken(product=product, sku=data["sku"]):
            raise ValidationError({"sku": ["A variant with this SKU already exists."]})
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
        # The default variant (options {}) carries the product's SKU and is_active.
        try:
            with transaction.atomic():
                ProductVariant.objects.filter(product=product, option_key="").update(**mirrored)
        except IntegrityError:  # its SKU taken by a variant created meanwhile
            if "sku" in mirrored and _default_variant_sku_taken(product=product, sku=product.sku):
                raise ValidationError({"sku": ["A variant with this SKU already exists."]}) from None
            raise
        if "is_active" in mirrored:
            product_totals_refresh(product_ids=[product.pk])
            product.refresh_from_db(fields=["price", "stock"])
    catalog_changed()
    return product


def _default_variant_sku_taken(*, product: Product, sku: str) -> bool:
    """Would copying `sku` to the product's default variant clash with another variant's SKU?"""
    return (
        ProductVariant.objects.filter(product=product, option_key="").exists()
        and ProductVariant.objects.filter(sku=sku).exclude(product=product, option_key="").exists()
    )


def _product_totals_through_variant(*, product: Product, data: dict[str, Any]) -> dict[str, Any]:
    """`price` and `stock` of a product are its variants' totals. On a product with exactly one
    variant they are written to that variant (and the totals recomputed); with several, changing
    either is a `ValidationError` on that field (change the variants). A value equal to the
    stored one is no change, so a PUT of what a GET returned is accepted."""
    given = {field: data[field] for field in ("price", "stock") if field in data}
    rest = {field: value for field, value in data.items() if field not in given}
    if not given:
        return rest
    # Lock order: variant rows first, then the product row (as checkout takes stock). FOR NO KEY
    # UPDATE (`no_key`), as an UPDATE of non-key columns takes: it leaves alone the KEY SHARE locks
    # that a cart or order line's foreign key check takes on these rows when its transaction
    # commits (product, then variant), where FOR UPDATE deadlocked with them.
    variants = list(
        ProductVariant.objects.select_for_update(no_key=True).filter(product=product).order_by("pk")[:2]
    )
    if not variants:
        return data  # no variant at all (rows bulk-loaded without one): the columns themselves
    if len(variants) > 1:
        stored = Product.objects.filter(pk=product.pk).values("price", "stock").first() or {}
        changed = [field for field, value in given.items() if value != stored.get(field)]
        if changed:
            raise ValidationError(
                {
                    field: [
                        f"This product has several variants: change the {field} of its variants "
                        f"(/api/products/{product.pk}/variants/<id>/)."
                    ]
                    for field in changed
                }
            )
        return rest
    ProductVariant.objects.filter(pk=variants[0].pk).update(**given, updated_at=timezone.now())
    product_totals_refresh(product_ids=[product.pk])
    product.refresh_from_db(fields=["price", "stock", "updated_at"])
    catalog_changed()
    return rest


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


# --- Variants -------------------------------------------------------------------------------

MAX_OPTIONS = 10
MAX_OPTION_NAME = 50
MAX_OPTION_VALUE = 100
VARIANT_FIELDS = frozenset({"sku", "options", "price", "stock", "is_active"})
# `option_key` joins `name=value` pairs with `|`, `?option=` splits at the first `:`, and a name
# is a JSON path key on SQLite (no quotes or backslashes there).
FORBIDDEN_IN_NAME = ("|", "=", ":", '"', "\\")
FORBIDDEN_IN_VALUE = ("|", "=")
OPTION_KEY_MAX = ProductVariant._meta.get_field("option_key").max_length


def options_validate(options: Any) -> dict[str, str]:
    """A variant's options: a JSON object of non-empty string names to non-empty string values,
    trimmed (at most 10 names; names unique ignoring case). Raises `ValidationError` (a list of
    messages) otherwise; returns the trimmed dict in the given order."""
    if not isinstance(options, dict):
        raise ValidationError('Options must be a JSON object such as {"Size": "M"}.')
    if len(options) > MAX_OPTIONS:
        raise ValidationError(f"At most {MAX_OPTIONS} options are allowed.")
    cleaned: dict[str, str] = {}
    seen: set[str] = set()
    for name, value in options.items():
        if not isinstance(name, str) or not name.strip():
            raise ValidationError("Option names must be non-empty strings.")
        if not isinstance(value, str) or not value.strip():
            raise ValidationError(f"The value of option {name!r} must be a non-empty string.")
        name, value = name.strip(), value.strip()
        if len(name) > MAX_OPTION_NAME or len(value) > MAX_OPTION_VALUE:
            raise ValidationError(
                f"Option names may have at most {MAX_OPTION_NAME} characters, values {MAX_OPTION_VALUE}."
            )
        if any(char in name for char in FORBIDDEN_IN_NAME) or any(
            char in value for char in FORBIDDEN_IN_VALUE
        ):
            raise ValidationError(
                'Option names may not contain | = : " or \\, values may not contain | or =.'
            )
        if "\x00" in name or "\x00" in value:
            raise ValidationError("Options may not contain null characters.")
        if name.casefold() in seen:
            raise ValidationError(f"Option {name!r} is given twice.")
        seen.add(name.casefold())
        cleaned[name] = value
    if len(option_key(cleaned)) > OPTION_KEY_MAX:
        raise ValidationError("The options are too long together.")
    return cleaned


def _variant_validate(spec: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    cleaned = dict(spec)
    if "options" in spec:
        try:
            cleaned["options"] = options_validate(spec["options"])
        except ValidationError as exc:
            errors["options"] = list(exc.messages)
    elif not partial:
        errors["options"] = ["This field is required."]
    if "sku" in spec:
        cleaned["sku"] = str(spec["sku"]).strip()
        if not cleaned["sku"]:
            errors["sku"] = ["This field may not be blank."]
    elif not partial:
        errors["sku"] = ["This field is required."]
    if spec.get("price") is not None and Decimal(spec["price"]) < 0:
        errors["price"] = ["The price may not be negative."]
    if spec.get("stock") is not None and int(spec["stock"]) < 0:
        errors["stock"] = ["The stock may not be negative."]
    if errors:
        raise ValidationError(errors)
    return cleaned


def _variants_validate_new(variants: list[dict[str, Any]], *, default_price: Decimal) -> list[dict[str, Any]]:
    """Validate the variants of a new product together: each one's fields, and option combinations
    and SKUs unique among them. Errors are `{"variants": ["Variant 2: sku: ..."]}` (1-based)."""
    messages: list[str] = []
    cleaned: list[dict[str, Any]] = []
    keys: set[str] = set()
    skus: set[str] = set()
    for number, spec in enumerate(variants, start=1):
        try:
            item = _variant_validate(spec, partial=False)
        except ValidationError as exc:
            messages += [
                f"Variant {number}: {field}: {message}"
                for field, field_messages in exc.message_dict.items()
                for message in field_messages
            ]
            continue
        if option_key(item["options"]) in keys:
            messages.append(
                f"Variant {number}: options: another variant of this product has the same options."
            )
        if item["sku"] in skus:
            messages.append(f"Variant {number}: sku: another variant has the same SKU.")
        keys.add(option_key(item["options"]))
        skus.add(item["sku"])
        cleaned.append({**item, "price": item["price"] if item.get("price") is not None else default_price})
    if variants and not messages and not any(item.get("is_active", True) for item in cleaned):
        messages.append("At least one variant must be active.")
    if messages:
        raise ValidationError({"variants": messages})
    return cleaned


def _variant_conflict(*, product: Product, sku: str | None, options: dict | None, exclude_pk: int | None):
    """The field error for a taken SKU (anywhere in the catalog) or option combination (in this
    product), or None."""
    if sku is not None and _others(ProductVariant, exclude_pk, sku=sku).exists():
        return {"sku": ["A variant with this SKU already exists."]}
    if (
        options is not None
        and _others(ProductVariant, exclude_pk, product=product, option_key=option_key(options)).exists()
    ):
        return {"options": ["This product already has a variant with these options."]}
    return None


def _raise_conflict(errors: dict[str, list[str]], number: int | None) -> None:
    if number is None:
        raise ValidationError(errors)
    raise ValidationError(
        {
            "variants": [
                f"Variant {number}: {field}: {message[0].lower()}{message[1:]}"
                for field, messages in errors.items()
                for message in messages
            ]
        }
    )


def _variant_insert(*, product: Product, spec: dict[str, Any], number: int | None = None) -> ProductVariant:
    """INSERT one validated variant. A taken SKU or option combination, found first or lost to a
    concurrent writer (the unique constraints), is a `ValidationError` on that field."""
    conflict = _variant_conflict(product=product, sku=spec["sku"], options=spec["options"], exclude_pk=None)
    if conflict:
        _raise_conflict(conflict, number)
    variant = ProductVariant(
        product=product,
        sku=spec["sku"],
        options=spec["options"],
        price=spec["price"] if spec.get("price") is not None else product.price,
        stock=spec.get("stock") or 0,
        is_active=spec.get("is_active", True),
    )
    try:
        with transaction.atomic():
            variant.save()
    except IntegrityError:
        conflict = _variant_conflict(
            product=product, sku=spec["sku"], options=spec["options"], exclude_pk=None
        )
        if conflict is None:
            raise
        _raise_conflict(conflict, number)
    return variant


@transaction.atomic
def product_totals_refresh(*, product_ids: list[int]) -> int:
    """Recompute the stored totals of the given products from their ACTIVE variants, in one
    set-based UPDATE: `price` = the lowest active variant price (unchanged when none is active),
    `stock` = the summed active variant stock (0 when none). Returns the rows updated.

    Runs inside the caller's transaction (its own when there is none). The product rows are
    locked first (primary-key order), so the UPDATE's statement reads every variant change
    committed before it got the locks and a concurrent writer's recompute cannot overwrite this
    one with older sums. Callers that changed
    variant rows hold those first: the lock order is variant rows, then product rows.
    """
    ids = sorted({int(pk) for pk in product_ids})
    if not ids:
        return 0
    # FOR NO KEY UPDATE: see `_product_totals_through_variant`.
    list(
        Product.objects.select_for_update(no_key=True)
        .filter(pk__in=ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    active = ProductVariant.objects.filter(product_id=OuterRef("pk"), is_active=True).order_by()
    lowest = active.values("product_id").annotate(value=Min("price")).values("value")
    total = active.values("product_id").annotate(value=Sum("stock")).values("value")
    return Product.objects.filter(pk__in=ids).update(
        price=Coalesce(Subquery(lowest), F("price")),
        stock=Coalesce(Subquery(total), Value(0)),
        updated_at=timezone.now(),
    )


def _variant_locked(*, product: Product, variant_id: int, for_delete: bool = False) -> ProductVariant:
    """The variant row, locked FOR NO KEY UPDATE to change its columns (not in the way of the
    foreign key checks of cart and order lines), or FOR UPDATE when it may be deleted."""
    variant = (
        ProductVariant.objects.select_for_update(no_key=not for_delete)
        .filter(product=product, pk=variant_id)
        .first()
    )
    if variant is None:
        raise NotFound("Variant not found.")
    return variant


def _active_others(variant: ProductVariant) -> bool:
    return (
        ProductVariant.objects.filter(product_id=variant.product_id, is_active=True)
        .exclude(pk=variant.pk)
        .exists()
    )


def _variant_in_orders(variant: ProductVariant) -> bool:
    """Does any order line refer to this variant: through its `variant` FK, or (a line written
    before variants whose migration could not tell which variant was bought, so `variant` is null)
    a line of the same product with the variant's SKU?"""
    return variant.product.order_items.filter(
        Q(variant=variant) | Q(variant__isnull=True, sku=variant.sku)
    ).exists()


@transaction.atomic
def variant_create(
    *,
    product: Product,
    sku: str,
    options: dict[str, str],
    price: Decimal | None = None,
    stock: int = 0,
    is_active: bool = True,
) -> ProductVariant:
    """Add a variant to `product` (price defaults to the product's). A taken SKU or an option
    combination the product already has is a `ValidationError` on that field. Recomputes the
    product's totals in the same transaction."""
    spec = _variant_validate(
        {"sku": sku, "options": options, "price": price, "stock": stock, "is_active": is_active},
        partial=False,
    )
    variant = _variant_insert(product=product, spec=spec)
    product_totals_refresh(product_ids=[product.pk])
    catalog_changed()
    return variant


@transaction.atomic
def variant_update(*, variant: ProductVariant, data: dict[str, Any]) -> ProductVariant:
    """Change the given fields of a variant (keys of `VARIANT_FIELDS`) and recompute its product's
    totals. The variant row is locked first; only the given columns are written, so a stock
    decrement by a checkout is never overwritten unless `stock` itself is set. Deactivating the
    product's last active variant is refused (deactivate the product instead)."""
    unknown = set(data) - VARIANT_FIELDS
    if unknown:
        raise TypeError(f"variant_update() got unknown fields: {sorted(unknown)}")
    data = _variant_validate(data, partial=True)
    locked = _variant_locked(product=variant.product, variant_id=variant.pk)
    if data.get("is_active") is False and locked.is_active and not _active_others(locked):
        raise ValidationError(
            {"is_active": ["This is the product's last active variant; deactivate the product instead."]}
        )
    conflict = _variant_conflict(
        product=variant.product, sku=data.get("sku"), options=data.get("options"), exclude_pk=locked.pk
    )
    if conflict:
        raise ValidationError(conflict)
    for field, value in data.items():
        setattr(locked, field, value)
    if data:
        try:
            with transaction.atomic():
                locked.save(update_fields=[*data, "updated_at"])
        except IntegrityError:
            conflict = _variant_conflict(
                product=variant.product,
                sku=data.get("sku"),
                options=data.get("options"),
                exclude_pk=locked.pk,
            )
            if conflict is None:
                raise
            raise ValidationError(conflict) from None
        product_totals_refresh(product_ids=[locked.product_id])
        catalog_changed()
    locked.product = variant.product
    return locked


@transaction.atomic
def variant_delete(*, variant: ProductVariant) -> bool:
    """Delete a variant, or deactivate it when an order line refers to it (the order keeps its
    snapshot). Returns True when deleted, False when deactivated. The product's last active
    variant cannot go (409 `last_active_variant`: deactivate or delete the product instead);
    inactive variants can always be removed. Recomputes the product's totals."""
    locked = _variant_locked(product=variant.product, variant_id=variant.pk, for_delete=True)
    locked.product = variant.product
    if locked.is_active and not _active_others(locked):
        raise ApplicationError(
            "This is the product's last active variant; deactivate or delete the product instead.",
            code="last_active_variant",
            status_code=409,
        )
    deleted = not _variant_in_orders(locked)
    if deleted:
        locked.delete()
    elif locked.is_active:
        locked.is_active = False
        locked.save(update_fields=["is_active", "updated_at"])
    product_totals_refresh(product_ids=[variant.product_id])
    catalog_changed()
    return deleted


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
