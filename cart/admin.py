from django.contrib import admin
from django.db.models import Count, Sum

from .models import Cart, CartItem
from .selectors import cart_line_total


class CartItemInline(admin.TabularInline):
    """Read-mostly: staff can see the lines and delete one, not invent or resize them."""

    model = CartItem
    extra = 0
    fields = ["product", "variant", "quantity", "unit_price", "line_total", "added_at"]
    readonly_fields = fields
    can_delete = True
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product", "variant")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Unit price")
    def unit_price(self, obj: CartItem):
        return obj.variant.price

    @admin.display(description="Line total")
    def line_total(self, obj: CartItem):
        return cart_line_total(item=obj)


@admin.register(Cart)
class CartAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "line_count", "unit_count", "updated_at"]
    list_select_related = ["user"]
    search_fields = ["user__email", "user__username"]
    date_hierarchy = "updated_at"
    ordering = ["-updated_at"]
    fields = ["user", "created_at", "updated_at"]
    readonly_fields = fields
    inlines = [CartItemInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_lines=Count("items"), _units=Sum("items__quantity"))

    def has_add_permission(self, request) -> bool:
        return False  # carts are created by use

    @admin.display(description="Lines", ordering="_lines")
    def line_count(self, obj: Cart) -> int:
        return obj._lines

    @admin.display(description="Units", ordering="_units")
    def unit_count(self, obj: Cart) -> int:
        return obj._units or 0
