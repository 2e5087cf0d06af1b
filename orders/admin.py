"""Order admin: lines, events and the address snapshot read-only; staff operations as actions
that call the same services as the API (errors become admin messages).
The order's payments are shown with payments' own read-only `PaymentInline`.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.utils.html import format_html_join

from core.exceptions import ApplicationError
from payments.admin import PaymentInline

from . import services
from .models import Order, OrderEvent, OrderItem


class OrderItemInline(admin.TabularInline):
    model = OrderItem
    extra = 0
    can_delete = False
    fields = [
        "product",
        "variant",
        "product_name",
        "options_label",
        "product_brand",
        "sku",
        "unit_price",
        "quantity",
        "line_total",
        "discount",
        "status",
        "cancelled_at",
        "cancel_reason",
        "refunded_amount",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="Options")
    def options_label(self, obj: OrderItem) -> str:
        return obj.options_label or "-"


class OrderEventInline(admin.TabularInline):
    model = OrderEvent
    extra = 0
    can_delete = False
    fields = ["created_at", "from_status", "status", "note", "actor"]
    readonly_fields = fields
    ordering = ["created_at", "id"]

    def has_add_permission(self, request, obj=None):
        return False


class OrderActionForm(ActionForm):
    """Extra fields next to the action dropdown, used by "Mark shipped"."""

    tracking_number = forms.CharField(required=False, max_length=100, label="Tracking number")
    carrier = forms.CharField(required=False, max_length=100, label="Carrier")


ADDRESS_LABELS = [
    ("full_name", "Name"),
    ("phone", "Phone"),
    ("line1", "Address"),
    ("line2", ""),
    ("landmark", "Landmark"),
    ("city", "City"),
    ("district", "District"),
    ("state", "State"),
    ("postal_code", "Postal code"),
    ("country", "Country"),
    ("address_type", "Type"),
]


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["number", "user_email", "status", "payment_method", "total", "currency", "created_at"]
    list_filter = ["status", "payment_method", "created_at"]
    date_hierarchy = "created_at"
    search_fields = ["number", "email", "user__email", "coupon_code"]
    list_select_related = ["user"]
    ordering = ["-created_at", "-id"]
    inlines = [OrderItemInline, OrderEventInline, PaymentInline]
    action_form = OrderActionForm
    actions = ["mark_shipped", "mark_delivered", "refund"]
    fieldsets = [
        (None, {"fields": ["number", "user", "email", "status", "payment_method"]}),
        (
            "Money",
            {
                "fields": [
                    "subtotal",
                    "coupon_code",
                    "discount_total",
                    "shipping_total",
                    "total",
                    "amount_refunded",
                    "currency",
                ]
            },
        ),
        (
            "Shipping",
            {"fields": ["shipping_address_display", "tracking_number", "carrier", "estimated_delivery"]},
        ),
        (
            "Timeline",
            {
                "fields": [
                    "created_at",
                    "expires_at",
                    "paid_at",
                    "shipped_at",
                    "delivered_at",
                    "cancelled_at",
                    "refunded_at",
                    "updated_at",
                ]
            },
        ),
    ]
    # Every change goes through the services (actions); the form itself is read-only.
    readonly_fields = [field for _title, options in fieldsets for field in options["fields"]]

    def has_add_permission(self, request):
        return False  # orders are made by checkout only

    def has_delete_permission(self, request, obj=None):
        return False  # order history is kept

    @admin.display(description="User email", ordering="user__email")
    def user_email(self, order: Order) -> str:
        return order.user.email

    @admin.display(description="Shipping address")
    def shipping_address_display(self, order: Order):
        snapshot = order.shipping_address or {}
        rows = [(label or "", snapshot[key]) for key, label in ADDRESS_LABELS if snapshot.get(key)]
        if not rows:
            return "-"
        return format_html_join("", "<div><strong>{}</strong> {}</div>", rows)

    def _run(self, request, queryset, label: str, operation) -> None:
        done = 0
        for order in queryset.order_by("pk"):
            try:
                operation(order)
            except ApplicationError as exc:
                self.message_user(request, f"{order.number}: {exc.message}", level=messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(request, f"{label}: {done} order(s).", level=messages.SUCCESS)

    # Each action changes orders: it needs the change permission (Django offers an action to
    # anyone who may view the list unless it names a permission).
    @admin.action(description="Mark shipped (fill in tracking number and carrier)", permissions=["change"])
    def mark_shipped(self, request, queryset):
        tracking_number = request.POST.get("tracking_number", "").strip()
        carrier = request.POST.get("carrier", "").strip()
        if not tracking_number or not carrier:
            self.message_user(
                request, "Enter a tracking number and a carrier to mark orders shipped.", level=messages.ERROR
            )
            return
        self._run(
            request,
            queryset,
            "Marked shipped",
            lambda order: services.order_ship(
                order_id=order.pk, tracking_number=tracking_number, carrier=carrier, actor=request.user
            ),
        )

    @admin.action(description="Mark delivered", permissions=["change"])
    def mark_delivered(self, request, queryset):
        self._run(
            request,
            queryset,
            "Marked delivered",
            lambda order: services.order_deliver(order_id=order.pk, actor=request.user),
        )

    @admin.action(description="Refund in full (card orders that are PAID)", permissions=["change"])
    def refund(self, request, queryset):
        self._run(
            request,
            queryset,
            "Refunded",
            lambda order: services.order_refund(
                order_id=order.pk, actor=request.user, reason="Refunded by staff."
            ),
        )
