from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html

from core.catalog_cache import catalog_changed
from core.exceptions import ApplicationError

from . import services
from .models import Category, Product, ProductVariant, WishlistItem, option_key
from .selectors import category_descendant_ids


def _with_hidden_initial(form_class):
    class HiddenInitialForm(form_class):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            for name in ("stock", "price", "is_active"):
                if name in self.fields:
                    self.fields[name].show_hidden_initial = True

        def clean(self):
            cleaned = super().clean()
            # A product's price and stock are its variants' totals: with several variants they are
            # changed on the variants (the service would refuse; say so on the form, not a 500).
            instance = self.instance
            if isinstance(instance, Product) and instance.pk:
                changed = [name for name in ("price", "stock") if name in self.changed_data]
                if changed and ProductVariant.objects.filter(product_id=instance.pk).count() > 1:
                    for name in changed:
                        self.add_error(name, "This product has several variants: change them below instead.")
            # A product's SKU is its default variant's, and variant SKUs are unique in the catalogue:
            # a clash with another product's variant is a form error here, not the database's 500.
            sku = cleaned.get("sku")
            if isinstance(instance, Product) and sku and "sku" in self.changed_data:
                others = ProductVariant.objects.filter(sku=sku)
                if instance.pk:
                    others = others.exclude(product_id=instance.pk)
                if others.exists():
                    self.add_error("sku", "A variant of another product already has this SKU.")
            return cleaned

    HiddenInitialForm.__name__ = form_class.__name__
    return HiddenInitialForm


class VariantInlineForm(forms.ModelForm):
    class Meta:
        model = ProductVariant
        fields = ("sku", "options", "price", "stock", "is_active")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # As on the product form: `changed_data` is "changed by this staff member", so a checkout's
        # stock decrement made while the page was open is not undone by saving another column.
        for name in ("stock", "price", "is_active"):
            self.fields[name].show_hidden_initial = True
        self.fields["price"].required = False
        self.fields["price"].help_text = "Empty: the product's price."
        self.fields["options"].required = False

    def clean_options(self):
        try:
            return services.options_validate(self.cleaned_data.get("options") or {})
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages) from None


class VariantInlineFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        keys: set[str] = set()
        active = 0
        kept = 0
        deleted = 0
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or not form.cleaned_data:
                continue
            if self.can_delete and self._should_delete_form(form):
                deleted += bool(form.instance.pk)
                continue
            kept += 1
            active += bool(form.cleaned_data.get("is_active"))
            key = option_key(form.cleaned_data.get("options") or {})
            if key in keys:
                form.add_error("options", "Another variant of this product has the same options.")
            keys.add(key)
        if (kept or deleted) and not active:
            raise forms.ValidationError(
                "A product needs at least one active variant (deactivate the product instead)."
            )


class VariantInline(admin.TabularInline):
    """The product's variants, written through the variant services: every save recomputes the
    product's price and stock and makes the cached catalog stale."""

    model = ProductVariant
    form = VariantInlineForm
    formset = VariantInlineFormSet
    fields = ("sku", "options", "price", "stock", "is_active")
    extra = 0
    show_change_link = False


class VariantOutOfStockFilter(admin.SimpleListFilter):
    title = "any variant out of stock"
    parameter_name = "variant_out_of_stock"

    def lookups(self, request, model_admin):
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request, queryset):
        empty = Exists(ProductVariant.objects.filter(product_id=OuterRef("pk"), is_active=True, stock=0))
        if self.value() == "yes":
            return queryset.filter(empty)
        if self.value() == "no":
            return queryset.exclude(empty)
        return queryset


class CategoryAdminForm(forms.ModelForm):
    def clean_parent(self):
        parent = self.cleaned_data.get("parent")
        instance = self.instance
        if parent is not None and instance.pk and parent.pk in category_descendant_ids(category=instance):
            raise ValidationError("A category cannot be placed under itself or one of its sub-categories.")
        return parent


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    form = CategoryAdminForm
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
    list_filter = ("is_active", VariantOutOfStockFilter, "category", "brand")
    inlines = (VariantInline,)
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
    def get_readonly_fields(self, request, obj=None):
        # On an existing product, price and stock are the variants' totals: edit the variants.
        if obj is not None and obj.pk:
            return (*self.readonly_fields, "price", "stock")
        return self.readonly_fields

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

    def save_formset(self, request, form, formset, change):
        if formset.model is not ProductVariant:
            return super().save_formset(request, form, formset, change)
        product = form.instance
        # The admin's change message reads these (formset.save() would have set them).
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        try:
            with transaction.atomic():
                self._save_variants(product, formset)
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.ERROR)
        except ValidationError as exc:
            self.message_user(request, "; ".join(exc.messages), messages.ERROR)

    @staticmethod
    def _save_variants(product: Product, formset) -> None:
        # New variants first, deletions last: the formset was checked as a whole (one active
        # variant at least), so replacing every variant in one save must not meet "the last
        # active variant cannot go" half way through.
        def step(variant_form) -> int:
            variant = variant_form.instance
            if variant.pk is None:
                return 0
            return 2 if formset.can_delete and formset._should_delete_form(variant_form) else 1

        for variant_form in sorted(formset.forms, key=step):
            if not variant_form.has_changed() and variant_form.instance.pk is None:
                continue
            variant = variant_form.instance
            if variant.pk and formset.can_delete and formset._should_delete_form(variant_form):
                services.variant_delete(variant=variant)
                formset.deleted_objects.append(variant)
            elif variant.pk is None:
                data = variant_form.cleaned_data
                created = services.variant_create(
                    product=product,
                    sku=data["sku"],
                    options=data.get("options") or {},
                    price=data.get("price"),
                    stock=data.get("stock") or 0,
                    is_active=data.get("is_active", True),
                )
                formset.new_objects.append(created)
            else:
                changed = [name for name in variant_form.changed_data if name in services.VARIANT_FIELDS]
                if changed:
                    data = {name: variant_form.cleaned_data[name] for name in changed}
                    if data.get("price", 0) is None:
                        data["price"] = product.price
                    services.variant_update(variant=variant, data=data)
                    formset.changed_objects.append((variant, changed))

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # A product added here without variants gets its default one, as `product_create` gives it.
        if not form.instance.variants.exists():
            services.default_variants_create_missing()
        services.product_totals_refresh(product_ids=[form.instance.pk])
        catalog_changed()

    def delete_model(self, request, obj):
        if not services.product_delete(product=obj):
            request.product_deactivated = True
            self.message_user(
                request,
                f"“{obj}” appears in orders, so it was deactivated instead of deleted.",
                messages.WARNING,
            )

    def response_delete(self, request, obj_display, obj_id):
        if getattr(request, "product_deactivated", False):
            # Not Django's "was deleted successfully": the product is still there, inactive.
            return HttpResponseRedirect(reverse("admin:products_product_changelist"))
        return super().response_delete(request, obj_display, obj_id)

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
