from django.urls import path, re_path

from .views import CartViewSet

app_name = "cart"

urlpatterns = [
    path("", CartViewSet.as_view({"get": "retrieve"}), name="detail"),
    path("add/", CartViewSet.as_view({"post": "add"}), name="add"),
    # Any segment reaches the view, which answers a non-numeric id with the contract's JSON 404.
    re_path(r"^update/(?P<item_id>[^/]+)/$", CartViewSet.as_view({"patch": "update_item"}), name="update"),
    re_path(r"^remove/(?P<item_id>[^/]+)/$", CartViewSet.as_view({"delete": "remove_item"}), name="remove"),
    path(
        "coupon/",
        CartViewSet.as_view({"post": "coupon_apply", "delete": "coupon_remove"}),
        name="coupon",
    ),
    path("clear/", CartViewSet.as_view({"delete": "clear"}), name="clear"),
    path("bulk-remove/", CartViewSet.as_view({"post": "bulk_remove"}), name="bulk-remove"),
    path(
        "bulk-move-to-wishlist/",
        CartViewSet.as_view({"post": "bulk_move_to_wishlist"}),
        name="bulk-move-to-wishlist",
    ),
]
