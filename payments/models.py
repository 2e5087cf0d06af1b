from decimal import Decimal

from django.db import models
from django.db.models import Q


class Payment(models.Model):
    """One record per Stripe PaymentIntent (or per collected cash-on-delivery payment)."""

    class Provider(models.TextChoices):
        STRIPE = "stripe", "Stripe"
        CASH = "cash", "Cash on delivery"

    class Status(models.TextChoices):
        REQUIRES_PAYMENT = "requires_payment", "Requires payment"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        MISMATCH = "mismatch", "Amount mismatch"
        REFUNDED = "refunded", "Refunded"
        PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="payments")
    provider = models.CharField(max_length=16, choices=Provider.choices, default=Provider.STRIPE)
    payment_intent_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    client_secret = models.CharField(max_length=255, blank=True, default="")
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.REQUIRES_PAYMENT)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    amount_received = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    amount_refunded = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    currency = models.CharField(max_length=3)
    last_error = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_refunded__gte=0), name="payment_refund_non_negative"),
        ]
        indexes = [
            # The open intents, least recently attempted first (`order_ids_holding_open_intents`,
            # the beat task's query): a few rows, whatever the payment history.
            models.Index(
                fields=["updated_at"],
                name="payment_open_by_attempt",
                condition=Q(status__in=["requires_payment", "failed"]),
            ),
        ]

    def __str__(self) -> str:
        return self.payment_intent_id or f"payment {self.pk}"

    @property
    def refundable_left(self) -> Decimal:
        """What is left to refund of this payment (the ledger's one subtraction)."""
        return max(self.amount_received - self.amount_refunded, Decimal("0.00"))


class Refund(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    order_item = models.ForeignKey(
        "orders.OrderItem", null=True, blank=True, on_delete=models.SET_NULL, related_name="refunds"
    )
    stripe_refund_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive")]

    def __str__(self) -> str:
        return self.stripe_refund_id or f"refund {self.pk}"


class WebhookEvent(models.Model):
    """Every Stripe event id seen, so a replayed delivery is processed only once."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"
