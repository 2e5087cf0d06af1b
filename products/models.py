from django.conf import settings
from django.db import models
from django.db.models import Q

from core.loading import DirectLoad


class Category(DirectLoad, models.Model):
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140, unique=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    image = models.ImageField(upload_to="categories/", blank=True)
    mobile_image = models.ImageField(upload_to="categories/banners/", blank=True)
    mobile_secondary_image = models.ImageField(upload_to="categories/banners/", blank=True)
    desktop_image = models.ImageField(upload_to="categories/banners/", blank=True)
    desktop_secondary_image = models.ImageField(upload_to="categories/banners/", blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class Product(DirectLoad, models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=220, unique=True)
    brand = models.CharField(max_length=120, blank=True, default="")
    sku = models.CharField(max_length=64, unique=True)
    description = models.TextField(blank=True, default="")
    price = models.DecimalField(max_digits=10, decimal_places=2)
    stock = models.PositiveIntegerField(default=0)
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="products"
    )
    image = models.ImageField(upload_to="products/", blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(stock__gte=0), name="product_stock_non_negative"),
            models.CheckConstraint(condition=Q(price__gte=0), name="product_price_non_negative"),
        ]
        indexes = [
            models.Index(fields=["is_active", "category", "price"], name="product_active_cat_price"),
            models.Index(fields=["is_active", "brand"], name="product_active_brand"),
            models.Index(fields=["is_active", "price"], name="product_active_price"),
            models.Index(fields=["is_active", "-created_at"], name="product_active_created"),
            models.Index(fields=["is_active", "name"], name="product_active_name"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def in_stock(self) -> bool:
        return self.stock > 0


def options_label(options: dict | None) -> str:
    """What people read for a combination: `Size M, Colour Red`; empty for `{}` (a default
    variant). Variants (`__str__`) and order lines (`OrderItem.options_label`) both show it."""
    return ", ".join(f"{name} {value}" for name, value in (options or {}).items())


def option_key(options: dict | None) -> str:
    """Normalised option combination: names and values trimmed and case-folded, sorted by name.

    `{"Size": "M", "Colour": "Red"}` and `{"colour": "red ", "size": "m"}` give the same key,
    so the unique constraint on (product, option_key) refuses the same combination twice.
    """
    pairs = sorted(
        (str(name).strip().casefold(), str(value).strip().casefold())
        for name, value in (options or {}).items()
    )
    return "|".join(f"{name}={value}" for name, value in pairs)


class ProductVariant(DirectLoad, models.Model):
    """One sellable unit of a product (a size, a colour...), with its own SKU, price and stock.

    Every product has at least one variant; a product without options has exactly one default
    variant (`options == {}`) carrying the product's SKU, price and stock.
    """

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    sku = models.CharField(max_length=64, unique=True)
    options = models.JSONField(default=dict, blank=True)
    option_key = models.CharField(max_length=255, blank=True, default="", editable=False)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    stock = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["product_id", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(stock__gte=0), name="variant_stock_non_negative"),
            models.CheckConstraint(condition=Q(price__gte=0), name="variant_price_non_negative"),
            models.UniqueConstraint(
                fields=["product", "option_key"], name="variant_unique_options_per_product"
            ),
        ]

    def __str__(self) -> str:
        label = options_label(self.options)
        return f"{self.sku} ({label})" if label else self.sku

    def save(self, *args, **kwargs):
        self.option_key = option_key(self.options)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "options" in update_fields:
            kwargs["update_fields"] = {*update_fields, "option_key"}
        super().save(*args, **kwargs)

    @property
    def in_stock(self) -> bool:
        return self.is_active and self.stock > 0


class WishlistItem(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="wishlist_items"
    )
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="wishlist_items")
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-added_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "product"], name="wishlist_unique_user_product")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} -> {self.product_id}"
