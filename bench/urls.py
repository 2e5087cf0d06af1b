"""backend.urls plus the bench's own probes (`/api/bench/...`), used only under bench.settings_bench."""

from django.urls import path

from backend.urls import urlpatterns as project_urlpatterns

from .views import DetailQueryView, PingView, Select1View

urlpatterns = [
    path("api/bench/ping/", PingView.as_view(), name="bench-ping"),
    path("api/bench/select1/", Select1View.as_view(), name="bench-select1"),
    path("api/bench/detail-query/<int:pk>/", DetailQueryView.as_view(), name="bench-detail-query"),
    *project_urlpatterns,
]
