from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView


class PingView(APIView):
    """The framework ceiling: the full middleware stack, DRF's request/response cycle and
    content negotiation, the default authentication classes and the JSON renderer, but no
    database or cache access."""

    permission_classes = [AllowAny]

    def get(self, request):
        return Response({"status": "ok"})
