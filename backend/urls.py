from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from core.views import HealthView
from products.urls import category_urlpatterns, product_urlpatterns
from users.admin import AdminLoginForm, admin_login

admin.site.site_header = "NovaCart administration"
admin.site.site_title = "NovaCart admin"
admin.site.login_form = AdminLoginForm

urlpatterns = [
    # Before admin.site.urls: the admin's login, throttled like the API's (users/admin.py).
    path("admin/login/", admin_login, name="admin-login"),
]

urlpatterns += [
    # The API first, each part under a prefix of its own, the users' routes (included at `api/`
    # itself) last among them: Django tries the patterns in order, and an include whose prefix
    # matches but none of whose routes does costs a walk of all of them (and a miss raised and
    # caught) on every request for a path listed after it. No two entries match the same path,
    # so the order changes no answer (core/tests/test_urls.py).
    path("api/web/", include("web.urls")),
    path("api/products/", include(product_urlpatterns)),
    path("api/categories/", include(category_urlpatterns)),
    path("api/cart/", include("cart.urls")),
    path("api/addresses/", include("addresses.urls")),
    path("api/orders/", include("orders.urls")),
    path("api/payments/", include("payments.urls")),
    path("api/promotions/", include("promotions.urls")),
    path("api/health/", HealthView.as_view(), name="health"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    # Assets from drf-spectacular-sidecar (SPECTACULAR_SETTINGS *_DIST = "SIDECAR"); ReDoc's page
    # without its web-font links (templates/api_docs/redoc.html): no CDN.
    path(
        "api/redoc/",
        SpectacularRedocView.as_view(url_name="schema", template_name="api_docs/redoc.html"),
        name="redoc",
    ),
    path("api/", include("users.urls")),
    path("admin/", admin.site.urls),
]

# Unmatched /api/ paths answer JSON like every other API error (see core.views.not_found).
handler404 = "core.views.not_found"
handler400 = "core.views.bad_request"
handler403 = "core.views.permission_denied"
handler500 = "core.views.server_error"

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
