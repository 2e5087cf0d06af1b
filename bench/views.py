from django.db import connection
from django.http import Http404
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from products import selectors


class PingView(APIView):
    """The framework ceiling: the full middleware stack, DRF's request/response cycle and
    content negotiation, the default authentication classes and the JSON renderer, but no
    database or cache access."""

    permission_classes = [AllowAny]

    def get(self, request):
        return Response({"status": "ok"})


class Select1View(PingView):
    """The ping view plus one `SELECT 1` through Django's cursor: what one database round trip
    adds to a request (`bench/cpu_split.sh`, docs/bench.md)."""

    def get(self, request):
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return Response({"status": "ok"})


class DetailQueryView(PingView):
    """The ping view plus the product detail's one query (`selectors.product_read`, the product
    built with its category and variants) and nothing else: the detail without the viewset's
    routing, its output dict and its rendering (`bench/cpu_split.sh`, docs/bench.md)."""

    def get(self, request, pk):
        product = selectors.product_read(product_id=pk, user=request.user)
        if product is None:
            raise Http404
        return Response({"id": product.pk})
