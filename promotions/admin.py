from django import forms
from django.contrib import admin

from core.forms import clean_with_serializer

from . import selectors
from .models import Promotion, Redemption
from .serializers import PromotionInputSerializer
from .services import PROMOTION_FIELDS


class PromotionStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [
            (selectors.STATUS_ACTIVE, "Active"),
            (selectors.STATUS_SCHEDULED, "Scheduled"),
            (selectors.STATUS_ENDED, "Ended"),
            (selectors.STATUS_EXHAUSTED, "Exhausted"),
            (selectors.STATUS_INACTIVE, "Inactive"),
        ]

    def queryset(self, request, queryset):
        if self.value() in dict(self.lookups(request, None)):
            return queryset.filter(selectors.promotion_status_q(self.value()))
        return queryset


class RedemptionInline(admin.TabularInline):
    model = Redemption
    extra = 0
    can_delete = False
    fields = ["order", "user", "amount", "created_at"]
    readonly_fields = fields
    raw_id_fields = ["order", "user"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class PromotionAdminForm(forms.ModelForm):
    """The API's rules (`PromotionInputSerializer`: the code's letters, a percentage of at most
    100, no negative minimum, `ends_at` after `starts_at`), so the admin cannot save what
    `POST /api/promotions/` refuses."""

    def clean(self):
        return clean_with_serializer(self, super().clean(), PromotionInputSerializer, PROMOTION_FIELDS)


@admin.register(Promotion)
class PromotionAdmin(admin.ModelAdmin):
    form = PromotionAdminForm
    list_display = ["code", "kind", "value", "status", "times_used", "usage_limit", "starts_at", "ends_at"]
    list_filter = [PromotionStatusFilter, "kind"]
    search_fields = ["code", "description"]
    filter_horizontal = ["categories"]
    readonly_fields = ["times_used", "created_at"]
    inlines = [RedemptionInline]

    @admin.display(description="status")
    def status(self, obj: Promotion) -> str:
        return selectors.promotion_status(promotion=obj)


@admin.register(Redemption)
class RedemptionAdmin(admin.ModelAdmin):
    list_display = ["promotion", "order", "user", "amount", "created_at"]
    search_fields = ["promotion__code", "order__number", "user__email"]
    raw_id_fields = ["promotion", "order", "user"]
    readonly_fields = ["promotion", "order", "user", "amount", "created_at"]

    # A redemption is written by the order that takes it and given back by its cancellation
    # (`promotion_redeem`, `promotion_release`), together with the promotion's `times_used`: one
    # made or deleted here would leave the two counts apart (and a used promotion deletable).
    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
