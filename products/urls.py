"""Included at `api/` by backend/urls.py.

Registration order matters: `products/wishlist/` must come before `products/<pk>/`, or the
product detail route would capture "wishlist". `brands/` and `price-range/` are list-level
actions, which the router places before the detail route.
"""

from rest_framework.routers import SimpleRouter

from .views import CategoryViewSet, ProductViewSet, WishlistViewSet

router = SimpleRouter()
router.register("products/wishlist", WishlistViewSet, basename="wishlist")
router.register("products", ProductViewSet, basename="product")
router.register("categories", CategoryViewSet, basename="category")

urlpatterns = router.urls
