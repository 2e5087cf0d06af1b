from django import forms
from django.contrib import admin, messages

from core.forms import clean_with_serializer

from . import services
from .models import Address
from .serializers import AddressInputSerializer

_FORM_FIELDS = (
    "full_name",
    "phone",
    "line1",
    "line2",
    "landmark",
    "city",
    "district",
    "state",
    "postal_code",
    "country",
    "address_type",
)


_CHECKED_FIELDS = ("phone", "postal_code", "country")


class AddressAdminForm(forms.ModelForm):
    """The API's rules for the phone, postal code and country (`AddressInputSerializer`), so the
    admin cannot save what the API refuses; their values are normalised the same way."""

    def clean(self):
        return clean_with_serializer(self, super().clean(), AddressInputSerializer, _CHECKED_FIELDS)


@admin.register(Address)
class AddressAdmin(admin.ModelAdmin):
    """Writes go through the address services, so the one-default rule holds for admin edits too.

    `is_default` is read-only here; the "Make default" action moves the default.
    """

    form = AddressAdminForm

    list_display = (
        "full_name",
        "user",
        "city",
        "postal_code",
        "country",
        "address_type",
        "is_default",
        "created_at",
    )
    list_filter = ("address_type", "is_default", "country")
    search_fields = ("full_name", "city", "postal_code", "user__email")
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    readonly_fields = ("is_default", "created_at", "updated_at")
    fields = ("user", *_FORM_FIELDS, "is_default", "created_at", "updated_at")
    actions = ["make_default"]

    def get_readonly_fields(self, request, obj=None):
        # The owner is fixed once the address exists (moving it would break both users' defaults).
        return (*self.readonly_fields, "user") if obj is not None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        values = {name: form.cleaned_data[name] for name in _FORM_FIELDS if name in form.cleaned_data}
        if change:
            saved = services.address_update(address=obj, **values)
        else:
            saved = services.address_create(user=obj.user, **values)
        obj.pk = saved.pk
        obj.refresh_from_db()

    def delete_model(self, request, obj):
        services.address_delete(address=obj)

    def delete_queryset(self, request, queryset):
        for address in queryset.order_by("pk"):
            services.address_delete(address=address)

    @admin.action(description="Make the selected address its owner's default", permissions=["change"])
    def make_default(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one address.", level=messages.ERROR)
            return
        address = queryset.get()
        services.address_set_default(user=address.user, address_id=address.pk)
        self.message_user(request, f"{address} is now the default address of {address.user}.")
