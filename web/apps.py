from django.apps import AppConfig


class WebConfig(AppConfig):
    """The storefront profile: `/api/web/`, the NovaCart web storefront's dialect over our services."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "web"
    verbose_name = "Storefront profile"
