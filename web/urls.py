"""Included at `api/web/` by backend/urls.py: the storefront's calls, paths exactly as it makes them.

`products/wishlist/` and the named product routes come before `products/<id>/` (the `int`
converter would not match them anyway, but the order keeps that obvious).
"""

from django.urls import path

from . import views

urlpatterns = [
    # Accounts
    path("token/", views.WebLoginView.as_view(), name="web-token"),
    path("token/refresh/", views.WebRefreshView.as_view(), name="web-token-refresh"),
    path("register/", views.WebRegisterView.as_view(), name="web-register"),
    path("password-reset/", views.WebPasswordResetRequestView.as_view(), name="web-password-reset"),
    path(
        "password-reset/confirm/",
        views.WebPasswordResetConfirmView.as_view(),
        name="web-password-reset-confirm",
    ),
    path("whoami/", views.WebWhoAmIView.as_view(), name="web-whoami"),
    path("my/dashboard/", views.WebWhoAmIView.as_view(), name="web-dashboard"),
    # Catalog
    path("categories/", views.WebCategoryListView.as_view(), name="web-categories"),
    path("products/", views.WebProductListView.as_view(), name="web-products"),
    path("products/brands/", views.WebBrandListView.as_view(), name="web-brands"),
    path("products/price-range/", views.WebPriceRangeView.as_view(), name="web-price-range"),
    path("products/wishlist/", views.WebWishlistView.as_view(), name="web-wishlist"),
    path("products/wishlist/<int:pk>/", views.WebWishlistItemView.as_view(), name="web-wishlist-item"),
    path("products/<int:pk>/", views.WebProductDetailView.as_view(), name="web-product"),
    # Cart
    path("cart/", views.WebCartView.as_view(), name="web-cart"),
    path("cart/add/", views.WebCartAddView.as_view(), name="web-cart-add"),
    # <str:pk>: the view answers a non-numeric id itself, with the `error` its error bodies carry.
    path("cart/update/<str:pk>/", views.WebCartUpdateView.as_view(), name="web-cart-update"),
    path("cart/remove/<int:pk>/", views.WebCartRemoveView.as_view(), name="web-cart-remove"),
    path("cart/bulk-delete/", views.WebCartBulkDeleteView.as_view(), name="web-cart-bulk-delete"),
    path("cart/bulk-move-to-wishlist/", views.WebCartBulkMoveView.as_view(), name="web-cart-bulk-move"),
    # Addresses
    path("addresses/", views.WebAddressListView.as_view(), name="web-addresses"),
    path("addresses/pincode/", views.WebPincodeView.as_view(), name="web-pincode"),
    # Orders
    path("orders/create/", views.WebOrderCreateView.as_view(), name="web-order-create"),
    path("orders/latest/", views.WebLatestOrderView.as_view(), name="web-order-latest"),
    path("orders/my/", views.WebMyOrdersView.as_view(), name="web-orders-my"),
    path("orders/cancel-item/", views.WebCancelItemView.as_view(), name="web-order-cancel-item"),
    # Payments
    path("payments/payment-intent/", views.WebPaymentIntentView.as_view(), name="web-payment-intent"),
]
