from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import HttpResponse
from django.utils import timezone

from .models import PasswordResetToken, User
from .throttling import admin_login_throttled

ADMIN_LOGIN_THROTTLED = "Too many sign-in attempts from this address. Please try again later."


class AdminLoginForm(AdminAuthenticationForm):
    """The admin sign-in form: the identifier may be an email or a username (users.backends)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].label = "Email or username"


def admin_login(request, extra_context=None):
    """The admin's login view behind the API's auth throttle: every sign-in attempt (POST) spends
    the client's `auth` bucket, shared with `/api/token/`, so the admin is no way around it.
    django-axes then locks out repeated wrong passwords (settings AXES_*)."""
    if request.method == "POST" and (wait := admin_login_throttled(request)) is not None:
        response = HttpResponse(ADMIN_LOGIN_THROTTLED, status=429, content_type="text/plain; charset=utf-8")
        response["Retry-After"] = str(wait)
        return response
    return admin.site.login(request, extra_context)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("email", "username", "first_name", "last_name", "is_staff", "is_active", "date_joined")
    list_filter = ("is_staff", "is_superuser", "is_active", "date_joined", "groups")
    search_fields = ("email", "username", "first_name", "last_name")
    ordering = ("-date_joined",)
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": (
                    "email",
                    "username",
                    "first_name",
                    "last_name",
                    "usable_password",
                    "password1",
                    "password2",
                ),
            },
        ),
    )


@admin.register(PasswordResetToken)
class PasswordResetTokenAdmin(admin.ModelAdmin):
    """View-only: staff can see that links were requested and used, and delete one to revoke it.
    The token hash is never shown."""

    list_display = ("user", "created_at", "expires_at", "used_at", "state")
    list_filter = ("created_at", ("used_at", admin.EmptyFieldListFilter))
    search_fields = ("user__email", "user__username")
    list_select_related = ("user",)
    fields = ("user", "created_at", "expires_at", "used_at")
    readonly_fields = fields
    ordering = ("-created_at",)

    @admin.display(description="state")
    def state(self, obj: PasswordResetToken) -> str:
        if obj.used_at is not None:
            return "used"
        if obj.expires_at <= timezone.now():
            return "expired"
        return "pending"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
