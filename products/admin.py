from django.contrib import admin, messages
from django.utils.html import format_html

from core.catalog_cache import catalog_changed

from . import services
from .models import Category, Product, WishlistItem


def _with_hidden_initial(form_class):
    class HiddenInitialForm(form_class):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            for name in ("stock", "price", "is_active"):
                if name in self.fields:
                    self.fields[name].show_hidden_initial = True

    HiddenInitialForm.__name__ = form_class.__name__
    return HiddenInitialForm


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "parent", "is_active")
    list_filter = ("is_active", "parent")
    list_select_related = ("parent",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    autocomplete_fields = ("parent",)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        catalog_changed()

    def delete_model(self, request, obj):
        services.category_delete(category=obj)

    def delete_queryset(self, request, queryset):
        for category in queryset:
            services.category_delete(category=category)


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("name", "sku", "brand", "price", "stock", "is_active", "category")
    list_editable = ("stock", "is_active", "price")
    list_filter = ("is_active", "category", "brand")
    list_select_related = ("category",)
    search_fields = ("name", "sku", "brand")
    prepopulated_fields = {"slug": ("name",)}
    autocomplete_fields = ("category",)
    readonly_fields = ("image_preview", "created_at", "updated_at")
    fields = (
        "name",
        "slug",
        "brand",
        "sku",
        "category",
        "description",
        "price",
        "stock",
        "is_active",
        "image",
        "image_preview",
        "created_at",
        "updated_at",
    )
    list_per_page = 50

    @admin.display(description="Preview")
    def image_preview(self, obj):
        if not obj or not obj.image:
            return "-"
        return format_html('<img src="{}" alt="" style="max-height:160px;max-width:160px">', obj.image.url)

    # Forms carry the values the page showed (hidden "initial-" inputs), so `changed_data` means
    # "changed by this staff member", not "differs from the database now": a stock reservation
    # an order made while the page was open is not undone by saving another column.
    def get_form(self, request, obj=None, change=False, **kwargs):
        return _with_hidden_initial(super().get_form(request, obj, change=change, **kwargs))

    def get_changelist_form(self, request, **kwargs):
        return _with_hidden_initial(super().get_changelist_form(request, **kwargs))

    def save_model(self, request, obj, form, change):
        if change:
            # Write only the columns this staff member changed.
            changed = [name for name in form.changed_data if name in services.PRODUCT_FIELDS]
            if changed:
                services.product_update(product=obj, data={name: getattr(obj, name) for name in changed})
        else:
            obj.save()
            catalog_changed()

    def delete_model(self, request, obj):
        if not services.product_delete(product=obj):
            self.message_user(
                request,
                f"“{obj}” appears in orders, so it was deactivated instead of deleted.",
                messages.WARNING,
            )

    def delete_queryset(self, request, queryset):
        deactivated = [str(product) for product in queryset if not services.product_delete(product=product)]
        if deactivated:
            self.message_user(
                request,
                f"Deactivated instead of deleted (they appear in orders): {', '.join(deactivated)}",
                messages.WARNING,
            )


@admin.register(WishlistItem)
class WishlistItemAdmin(admin.ModelAdmin):
    list_display = ("user", "product", "added_at")
    list_select_related = ("user", "product")
    search_fields = ("user__email", "product__name", "product__sku")
    autocomplete_fields = ("product",)
    raw_id_fields = ("user",)
    date_hierarchy = "added_at"
