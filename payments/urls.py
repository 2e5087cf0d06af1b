from django.urls import path

from .views import PaymentIntentView, StripeWebhookView

urlpatterns = [
    path("payment-intent/", PaymentIntentView.as_view(), name="payments-payment-intent"),
    path("webhook/", StripeWebhookView.as_view(), name="payments-webhook"),
]
