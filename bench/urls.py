"""backend.urls plus `/api/bench/ping/`, used only under bench.settings_bench."""

from django.urls import path

from backend.urls import urlpatterns as project_urlpatterns

from .views import PingView

urlpatterns = [
    path("api/bench/ping/", PingView.as_view(), name="bench-ping"),
    *project_urlpatterns,
]
