"""Input and output shapes of the catalog and the wishlist (no business rules here).

`ProductOutputSerializer` is the contract's product object; other apps (cart, orders) nest it.
Pass `context={"request": request}` so image URLs come out absolute.
"""

import json
from decimal import Decimal

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers
from rest_framework.fields import SkipField, empty
from rest_framework.utils import html

from core.serializers import PrebuiltModelSerializer

from .models import Category, Product, ProductVariant, WishlistItem
from .selectors import VARIANTS_ATTR

MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_INT32 = 2_147_483_647
MAX_BIGINT = 9_223_372_036_854_775_807


def absolute_media_url(file, request) -> str | None:
    """The absolute URL of a stored file, or None when the field is empty."""
    if not file:
        return None
    url = file.url
    # A storage that already returns absolute URLs (Cloudinary) is left as is by build_absolute_uri.
    return request.build_absolute_uri(url) if request is not None else url


@extend_schema_field({"type": "string", "format": "uri", "nullable": True})
class AbsoluteImageField(serializers.Field):
    """Read-only: an image field as an absolute URL or null."""

    def __init__(self, **kwargs):
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value):
        return absolute_media_url(value, self.context.get("request"))


class OptionalBooleanField(serializers.BooleanField):
    """Absent means "not given", in multipart forms too (DRF's BooleanField reads a missing form
    field as False, which would create inactive products and deactivate them on PUT)."""

    default_empty_html = empty


def _validate_image_size(image):
    if image and image.size > MAX_IMAGE_BYTES:
        raise serializers.ValidationError(f"Images may be at most {MAX_IMAGE_BYTES // (1024 * 1024)} MB.")
    return image


# --- Output ---------------------------------------------------------------------------------

CENT = Decimal("0.01")


def variant_dict(variant: ProductVariant) -> dict:
    """The contract's variant object, built as a plain dict (no nested serializer per row)."""
    return {
        "id": variant.pk,
        "sku": variant.sku,
        "options": dict(variant.options or {}),
        "price": str(Decimal(variant.price).quantize(CENT)),
        "stock": variant.stock,
        "in_stock": variant.is_active and variant.stock > 0,
        "is_active": variant.is_active,
    }


def options_summary(variants: list[ProductVariant]) -> list[dict]:
    """`[{name, values}]` of the ACTIVE variants: names in first-seen order, values in variant
    order (the variants come in id order), each value once."""
    summary: dict[str, list[str]] = {}
    for variant in variants:
        if not variant.is_active:
            continue
        for name, value in (variant.options or {}).items():
            values = summary.setdefault(name, [])
            if value not in values:
                values.append(value)
    return [{"name": name, "values": values} for name, values in summary.items()]


class _PrefetchedVariantsField(serializers.Field):
    """Read-only, from the variants prefetch (`selectors.product_variants_prefetch`). A product
    read without it (another app's nested product that did not ask for variants) leaves the field
    out rather than running a query per row."""

    def __init__(self, **kwargs):
        # Not `read_only`: drf-spectacular marks read-only fields required, and a nested product
        # read without the prefetch leaves these out. Output serializers never take input.
        kwargs["required"] = False
        kwargs["source"] = "*"
        super().__init__(**kwargs)

    def get_attribute(self, instance):
        variants = getattr(instance, VARIANTS_ATTR, None)
        if variants is None:
            raise SkipField
        return variants


VARIANT_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "sku": {"type": "string"},
        "options": {"type": "object", "additionalProperties": {"type": "string"}},
        "price": {"type": "string", "format": "decimal"},
        "stock": {"type": "integer"},
        "in_stock": {"type": "boolean"},
        "is_active": {"type": "boolean"},
    },
    "required": ["id", "sku", "options", "price", "stock", "in_stock", "is_active"],
}


@extend_schema_field(
    {
        "type": "array",
        "items": VARIANT_SCHEMA,
        "description": "The product's variants in id order (non-staff: active ones only). Always "
        "present in catalog and wishlist reads; a product nested in another resource that did not "
        "load its variants leaves it out.",
    }
)
class VariantsField(_PrefetchedVariantsField):
    def to_representation(self, value):
        return [variant_dict(variant) for variant in value]


@extend_schema_field(
    {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "values": {"type": "array", "items": {"type": "string"}},
            },
            "required": ["name", "values"],
        },
        "description": "Option names (first-seen order) and their values (variant order) of the "
        "active variants. Present whenever `variants` is.",
    }
)
class OptionsField(_PrefetchedVariantsField):
    def to_representation(self, value):
        return options_summary(value)


class CategoryBriefSerializer(PrebuiltModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "name", "slug"]


@extend_schema_serializer(component_name="Category")
class CategoryOutputSerializer(PrebuiltModelSerializer):
    image = AbsoluteImageField()
    mobile_image = AbsoluteImageField()
    mobile_secondary_image = AbsoluteImageField()
    desktop_image = AbsoluteImageField()
    desktop_secondary_image = AbsoluteImageField()

    class Meta:
        model = Category
        fields = [
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
        ]
        read_only_fields = fields


@extend_schema_serializer(component_name="Product")
class ProductOutputSerializer(PrebuiltModelSerializer):
    """The contract's product object."""

    currency = serializers.SerializerMethodField()
    in_stock = serializers.BooleanField(read_only=True)
    image = AbsoluteImageField()
    category = CategoryBriefSerializer(read_only=True, allow_null=True)
    variants = VariantsField()
    options = OptionsField()

    class Meta:
        model = Product
        fields = [
            "id",
            "name",
            "slug",
            "brand",
            "sku",
            "description",
            "price",
            "currency",
            "stock",
            "in_stock",
            "image",
            "category",
            "is_active",
            "created_at",
            "updated_at",
            "variants",
            "options",
        ]
        read_only_fields = fields

    def get_currency(self, obj) -> str:
        return settings.CURRENCY


# --- Output fast path -----------------------------------------------------------------------
# The responses of catalog, cart and wishlist reads are built by these plain functions: the same
# dicts `ProductOutputSerializer` gives (keys, order, Decimal strings, DRF's datetime format,
# absolute image URLs), without building and walking DRF field objects per request and per row.
# The serializer stays the schema (drf-spectacular) and the reference:
# `products/tests/test_output_fast_path.py` pins the two equal, so they cannot drift apart.

_UNSET = object()

# Unbound, stateless DRF fields: their `to_representation` is DRF's own formatting.
_PRICE = serializers.DecimalField(max_digits=10, decimal_places=2, read_only=True)
_DATETIME = serializers.DateTimeField(read_only=True)


def current_timezone():
    """The zone DRF's DateTimeField renders in (None without USE_TZ): look it up once per response."""
    return timezone.get_current_timezone() if settings.USE_TZ else None


def datetime_output(value, tz=_UNSET):
    """DRF's DateTimeField output (ISO 8601, `Z` for UTC, in the current time zone) for an aware
    datetime, without its per-call time zone lookup when the caller passes `tz`
    (`current_timezone()`). Anything else (None, naive, no USE_TZ) goes through DRF's field."""
    if value is None:
        return None
    if tz is _UNSET:
        tz = current_timezone()
    if tz is None or value.utcoffset() is None:
        return _DATETIME.to_representation(value)
    text = value.astimezone(tz).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def category_brief_output(category: Category | None) -> dict | None:
    """`CategoryBriefSerializer`'s `{id, name, slug}`, or None."""
    if category is None:
        return None
    return {"id": category.pk, "name": category.name, "slug": category.slug}


def product_output(product: Product, request, tz=_UNSET) -> dict:
    """The contract's product object (`ProductOutputSerializer(product, context={"request":
    request}).data`). `variants` and `options` are present when the variants prefetch
    (`selectors.product_variants_prefetch`) was run, left out otherwise, as the serializer does.
    A caller rendering many products passes `tz=current_timezone()` once."""
    if tz is _UNSET:
        tz = current_timezone()
    data = {
        "id": product.pk,
        "name": product.name,
        "slug": product.slug,
        "brand": product.brand,
        "sku": product.sku,
        "description": product.description,
        "price": None if product.price is None else _PRICE.to_representation(product.price),
        "currency": settings.CURRENCY,
        "stock": product.stock,
        "in_stock": product.stock > 0,
        "image": absolute_media_url(product.image, request),
        "category": category_brief_output(product.category) if product.category_id is not None else None,
        "is_active": product.is_active,
        "created_at": datetime_output(product.created_at, tz),
        "updated_at": datetime_output(product.updated_at, tz),
    }
    variants = getattr(product, VARIANTS_ATTR, None)
    if variants is not None:
        data["variants"] = [variant_dict(variant) for variant in variants]
        data["options"] = options_summary(variants)
    return data


def wishlist_item_output(item: WishlistItem, request, tz=_UNSET) -> dict:
    """`WishlistItemOutputSerializer`'s `{id, product, added_at}`."""
    if tz is _UNSET:
        tz = current_timezone()
    return {
        "id": item.pk,
        "product": product_output(item.product, request, tz),
        "added_at": datetime_output(item.added_at, tz),
    }


@extend_schema_serializer(component_name="WishlistItem")
class WishlistItemOutputSerializer(PrebuiltModelSerializer):
    product = ProductOutputSerializer(read_only=True)

    class Meta:
        model = WishlistItem
        fields = ["id", "product", "added_at"]
        read_only_fields = fields


@extend_schema_serializer(component_name="ProductVariant")
class VariantOutputSerializer(serializers.Serializer):
    """Schema only: the contract's variant object (responses are built by `variant_dict`)."""

    id = serializers.IntegerField()
    sku = serializers.CharField()
    options = serializers.DictField(child=serializers.CharField())
    price = serializers.DecimalField(max_digits=10, decimal_places=2)
    stock = serializers.IntegerField()
    in_stock = serializers.BooleanField()
    is_active = serializers.BooleanField()


class OptionValueCountSerializer(serializers.Serializer):
    value = serializers.CharField()
    count = serializers.IntegerField()


class OptionFacetSerializer(serializers.Serializer):
    """Schema only: one option name of `/api/products/options/` with its values and counts."""

    name = serializers.CharField()
    values = OptionValueCountSerializer(many=True)


class BrandFacetSerializer(serializers.Serializer):
    brand = serializers.CharField()
    count = serializers.IntegerField()


class PriceRangeSerializer(serializers.Serializer):
    min_price = serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True)
    max_price = serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True)


# --- Input ----------------------------------------------------------------------------------


class VariantListInputSerializer(serializers.ListSerializer):
    """`variants` in a multipart form (a product created with its image) is one field holding
    the JSON array, as in a JSON body. DRF reads a form's list only from indexed fields
    (`variants[0]sku=...`) and drops a plain `variants` field without a word, which would create
    the product with its default variant instead of the ones sent."""

    def get_value(self, dictionary):
        if html.is_html_input(dictionary) and self.field_name in dictionary:
            raw = dictionary.get(self.field_name)
            try:
                return json.loads(raw)
            except (TypeError, ValueError):
                return raw  # not a list: validation answers 400 on `variants`
        return super().get_value(dictionary)


class VariantInputSerializer(serializers.Serializer):
    """A variant to create (`sku`, `options`, `stock` required; `price` defaults to the product's)
    or, partial, to change. `options` is checked by the service (non-empty string names to
    non-empty string values)."""

    sku = serializers.CharField(max_length=64)
    options = serializers.JSONField(help_text='Option name to value, e.g. `{"Size": "M", "Colour": "Red"}`.')
    price = serializers.DecimalField(
        max_digits=10, decimal_places=2, min_value=Decimal("0"), required=False, allow_null=True
    )
    stock = serializers.IntegerField(min_value=0, max_value=MAX_INT32)
    is_active = OptionalBooleanField(required=False)

    class Meta:
        list_serializer_class = VariantListInputSerializer


class ProductInputSerializer(serializers.Serializer):
    """Create (POST/PUT: name, sku and price required) or change (PATCH) a product."""

    name = serializers.CharField(max_length=200)
    slug = serializers.SlugField(
        max_length=220, required=False, allow_blank=True, help_text="Generated from the name when empty."
    )
    brand = serializers.CharField(max_length=120, required=False, allow_blank=True)
    sku = serializers.CharField(max_length=64)
    description = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    price = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=Decimal("0"))
    stock = serializers.IntegerField(min_value=0, max_value=MAX_INT32, required=False)
    category_id = serializers.PrimaryKeyRelatedField(
        queryset=Category.objects.all(),
        required=False,
        allow_null=True,
        help_text="Category id or null.",
        pk_field=serializers.IntegerField(),  # 1.5 is not an id (the lookup alone would read it as 1)
    )
    image = serializers.ImageField(required=False, allow_null=True, validators=[_validate_image_size])
    is_active = OptionalBooleanField(required=False)
    variants = VariantInputSerializer(
        many=True,
        required=False,
        max_length=100,
        help_text="Create only: the product's variants instead of the default one (in a multipart form, "
        "one field holding the JSON array).",
    )

    def to_service_kwargs(self) -> dict:
        data = dict(self.validated_data)
        if "category_id" in data:
            data["category"] = data.pop("category_id")
        return data


class CategoryInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    slug = serializers.SlugField(
        max_length=140, required=False, allow_blank=True, help_text="Generated from the name when empty."
    )
    parent = serializers.PrimaryKeyRelatedField(
        queryset=Category.objects.all(),
        required=False,
        allow_null=True,
        help_text="Parent category id or null.",
        pk_field=serializers.IntegerField(),  # 1.5 is not an id (the lookup alone would read it as 1)
    )
    is_active = OptionalBooleanField(required=False)
    image = serializers.ImageField(required=False, allow_null=True, validators=[_validate_image_size])
    mobile_image = serializers.ImageField(required=False, allow_null=True, validators=[_validate_image_size])
    mobile_secondary_image = serializers.ImageField(
        required=False, allow_null=True, validators=[_validate_image_size]
    )
    desktop_image = serializers.ImageField(required=False, allow_null=True, validators=[_validate_image_size])
    desktop_secondary_image = serializers.ImageField(
        required=False, allow_null=True, validators=[_validate_image_size]
    )


class WishlistAddInputSerializer(serializers.Serializer):
    product_id = serializers.IntegerField(min_value=1, max_value=MAX_BIGINT)
