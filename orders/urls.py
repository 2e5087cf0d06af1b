from django.urls import path

from .views import OrderViewSet

# Explicit paths: the contract's `cancel/<id>/` does not fit a router's `<id>/<verb>/` pattern.
urlpatterns = [
    path("create/", OrderViewSet.as_view({"post": "create_order"}), name="order-create"),
    path("my/", OrderViewSet.as_view({"get": "my"}), name="order-my"),
    path("latest/", OrderViewSet.as_view({"get": "latest"}), name="order-latest"),
    path("cancel/<int:pk>/", OrderViewSet.as_view({"post": "cancel"}), name="order-cancel"),
    path("<int:pk>/", OrderViewSet.as_view({"get": "retrieve"}), name="order-detail"),
    path(
        "<int:pk>/items/<int:item_id>/cancel/",
        OrderViewSet.as_view({"post": "cancel_item"}),
        name="order-item-cancel",
    ),
    path("<int:pk>/ship/", OrderViewSet.as_view({"post": "ship"}), name="order-ship"),
    path("<int:pk>/deliver/", OrderViewSet.as_view({"post": "deliver"}), name="order-deliver"),
    path("<int:pk>/refund/", OrderViewSet.as_view({"post": "refund"}), name="order-refund"),
]
