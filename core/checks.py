"""`manage.py check --deploy` warnings for production settings Django itself cannot know about."""

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def production_services_check(app_configs=None, **kwargs) -> list[Warning]:
    warnings: list[Warning] = []
    if not settings.REDIS_URL:
        warnings.append(
            Warning(
                "REDIS_URL is not set: every web process keeps its own cache and throttle counters, "
                "and emails are sent inline during the request instead of by a Celery worker.",
                hint="Point REDIS_URL at the Redis (Render Key Value) instance.",
                id="novacart.W001",
            )
        )
    if settings.EMAIL_BACKEND == "django.core.mail.backends.console.EmailBackend":
        warnings.append(
            Warning(
                "Emails are printed to the console, not sent.",
                hint="Set RESEND_API_KEY (or EMAIL_HOST and the SMTP variables).",
                id="novacart.W002",
            )
        )
    if settings.STRIPE_SECRET_KEY in {"", "sk_test_local"} or settings.STRIPE_WEBHOOK_SECRET in {
        "",
        "whsec_local",
    }:
        warnings.append(
            Warning(
                "Stripe still uses the local placeholder keys.",
                hint="Set STRIPE_SECRET_KEY, STRIPE_PUBLISHABLE_KEY and STRIPE_WEBHOOK_SECRET.",
                id="novacart.W003",
            )
        )
    if not settings.DEBUG and not (
        settings.CORS_ALLOWED_ORIGINS
        or getattr(settings, "CORS_ALLOWED_ORIGIN_REGEXES", None)
        or getattr(settings, "CORS_ALLOW_ALL_ORIGINS", False)
    ):
        warnings.append(
            Warning(
                "CORS_ALLOWED_ORIGINS is empty: no browser storefront on another origin can call the API.",
                hint="Set CORS_ALLOWED_ORIGINS to the storefront's origins, e.g. https://novacart.example.",
                id="novacart.W004",
            )
        )
    return warnings
