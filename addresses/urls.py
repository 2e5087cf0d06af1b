from django.urls import path
from rest_framework.routers import SimpleRouter

from .views import AddressViewSet, PincodeLookupView

router = SimpleRouter()
router.register("", AddressViewSet, basename="address")

# `pincode/` first: it must never be taken for an address id.
urlpatterns = [
    path("pincode/", PincodeLookupView.as_view(), name="address-pincode"),
    *router.urls,
]
