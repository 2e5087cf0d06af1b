from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone


class PromotionKind(models.TextChoices):
    PERCENTAGE = "percentage", "Percentage"
    FIXED = "fixed", "Fixed amount"


class Promotion(models.Model):
    code = models.CharField(max_length=40)
    description = models.CharField(max_length=255, blank=True, default="")
    kind = models.CharField(max_length=10, choices=PromotionKind.choices)
    value = models.DecimalField(max_digits=12, decimal_places=2)
    min_subtotal = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    starts_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField(null=True, blank=True)
    usage_limit = models.PositiveIntegerField(null=True, blank=True)
    usage_limit_per_user = models.PositiveIntegerField(null=True, blank=True)
    categories = models.ManyToManyField("products.Category", blank=True, related_name="promotions")
    is_active = models.BooleanField(default=True)
    times_used = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(Lower("code"), name="promotion_code_unique_ci"),
            models.CheckConstraint(condition=Q(value__gt=0), name="promotion_value_positive"),
            models.CheckConstraint(
                condition=~Q(kind="percentage") | Q(value__lte=100), name="promotion_percentage_at_most_100"
            ),
        ]

    def __str__(self) -> str:
        return self.code


class Redemption(models.Model):
    """One per order placed with a coupon; deleted (and `times_used` given back) when an unpaid
    order is cancelled or expires."""

    promotion = models.ForeignKey(Promotion, on_delete=models.PROTECT, related_name="redemptions")
    order = models.OneToOneField("orders.Order", on_delete=models.CASCADE, related_name="redemption")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["promotion", "user"], name="redemption_promotion_user")]

    def __str__(self) -> str:
        return f"{self.promotion_id} on order {self.order_id}"
