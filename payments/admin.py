"""Payment records are written by the payment services (checkout, webhook, refunds) only, so the
admin shows them read-only: a hand edit would make our books disagree with Stripe's. Refunds are
made with the order admin's "Refund" action (the same service as the API). `PaymentInline` is
shown on the order admin, which includes it (orders/admin.py): payments never imports orders."""

from django.contrib import admin
from django.utils.html import format_html

from .models import Payment, Refund, WebhookEvent


class ReadOnlyAdminMixin:
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def _stripe_dashboard_link(payment_intent_id: str | None):
    if not payment_intent_id:
        return "-"
    return format_html(
        '<a href="https://dashboard.stripe.com/payments/{}" target="_blank" rel="noopener">{}</a>',
        payment_intent_id,
        payment_intent_id,
    )


class RefundInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Refund
    extra = 0
    fields = ["created_at", "stripe_refund_id", "amount", "status", "order_item", "reason"]
    readonly_fields = fields


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "order",
        "provider",
        "status",
        "amount",
        "amount_received",
        "amount_refunded",
        "currency",
        "payment_intent_id",
        "created_at",
    ]
    list_filter = ["status", "provider", "currency", "created_at"]
    list_select_related = ["order"]
    search_fields = ["payment_intent_id", "order__number", "order__email"]
    date_hierarchy = "created_at"
    fields = [
        "order",
        "provider",
        "status",
        "stripe_link",
        "amount",
        "amount_received",
        "amount_refunded",
        "currency",
        "last_error",
        "created_at",
        "updated_at",
        "succeeded_at",
    ]
    readonly_fields = fields
    inlines = [RefundInline]

    @admin.display(description="PaymentIntent")
    def stripe_link(self, obj: Payment):
        return _stripe_dashboard_link(obj.payment_intent_id)


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "payment", "order_number", "amount", "status", "stripe_refund_id", "created_at"]
    list_filter = ["status", "created_at"]
    list_select_related = ["payment__order"]
    search_fields = ["stripe_refund_id", "payment__payment_intent_id", "payment__order__number"]
    date_hierarchy = "created_at"
    fields = ["payment", "order_item", "stripe_refund_id", "amount", "status", "reason", "created_at"]
    readonly_fields = fields

    @admin.display(description="Order", ordering="payment__order__number")
    def order_number(self, obj: Refund) -> str:
        return obj.payment.order.number


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["event_id", "type", "received_at", "processed_at"]
    list_filter = ["type", "received_at"]
    search_fields = ["event_id", "type"]
    date_hierarchy = "received_at"
    fields = ["event_id", "type", "received_at", "processed_at", "payload"]
    readonly_fields = fields


class PaymentInline(ReadOnlyAdminMixin, admin.TabularInline):
    """The order's payment records, on the order admin page."""

    model = Payment
    extra = 0
    fields = [
        "provider",
        "status",
        "stripe_link",
        "amount",
        "amount_received",
        "amount_refunded",
        "currency",
        "last_error",
        "created_at",
        "succeeded_at",
    ]
    readonly_fields = fields
    show_change_link = True
    ordering = ["created_at", "id"]

    @admin.display(description="PaymentIntent")
    def stripe_link(self, obj: Payment):
        return _stripe_dashboard_link(obj.payment_intent_id)
