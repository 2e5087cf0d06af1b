from django.urls import path

from . import views

urlpatterns = [
    path("register/", views.RegisterView.as_view(), name="register"),
    path("token/", views.LoginView.as_view(), name="token-obtain"),
    path("token/refresh/", views.RefreshView.as_view(), name="token-refresh"),
    path("token/verify/", views.VerifyView.as_view(), name="token-verify"),
    path("token/blacklist/", views.LogoutView.as_view(), name="token-blacklist"),
    path("me/", views.MeView.as_view(), name="me"),
    path("whoami/", views.MeView.as_view(), name="whoami"),
    path("me/password/", views.PasswordChangeView.as_view(), name="password-change"),
    path("password-reset/", views.PasswordResetRequestView.as_view(), name="password-reset"),
    path("password-reset/confirm/", views.PasswordResetConfirmView.as_view(), name="password-reset-confirm"),
]
