"""Included at `api/promotions/` by backend/urls.py."""

from rest_framework.routers import SimpleRouter

from .views import PromotionViewSet

router = SimpleRouter()
router.register("", PromotionViewSet, basename="promotion")

urlpatterns = router.urls
