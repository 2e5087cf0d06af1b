"""Included by backend/urls.py at `api/products/` (`product_urlpatterns`) and `api/categories/`
(`category_urlpatterns`): each under a prefix of its own, so a request for another API path fails
at that prefix instead of trying every route here (Django tries the patterns in order).

Registration order matters: `wishlist/` must come before `<pk>/`, or the product detail route
would capture "wishlist". `brands/`, `options/` and `price-range/` are list-level actions, which
the router places before the detail route.
"""

from rest_framework.routers import SimpleRouter

from .views import CategoryViewSet, ProductViewSet, WishlistViewSet

products_router = SimpleRouter()
products_router.register("wishlist", WishlistViewSet, basename="wishlist")
products_router.register("", ProductViewSet, basename="product")
product_urlpatterns = products_router.urls

categories_router = SimpleRouter()
categories_router.register("", CategoryViewSet, basename="category")
category_urlpatterns = categories_router.urls
