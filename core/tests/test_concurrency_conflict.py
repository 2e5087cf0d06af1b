"""A real PostgreSQL deadlock inside a view answers a retryable 503 and writes nothing."""

import threading

import pytest
from django.db import connection, transaction
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from products.models import Product
from products.tests.factories import ProductFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


class _LockInOrderView(APIView):
    """Locks two product rows in the order given, meeting the other request in between."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []
    barrier: threading.Barrier

    def post(self, request):
        first, second = request.data["order"]
        value = request.data["value"]
        with transaction.atomic():
            Product.objects.filter(pk=first).update(stock=value)
            self.barrier.wait(timeout=10)
            Product.objects.filter(pk=second).update(stock=value)
        return Response({"ok": True})


def test_deadlock_is_a_retryable_503_and_rolls_back():
    a = ProductFactory(stock=5)
    b = ProductFactory(stock=7)
    _LockInOrderView.barrier = threading.Barrier(2)
    view = _LockInOrderView.as_view()
    factory = APIRequestFactory()
    responses = {}

    def call(name, order, value):
        try:
            request = factory.post("/x/", {"order": order, "value": value}, format="json")
            responses[name] = view(request)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=call, args=("ab", [a.pk, b.pk], 1)),
        threading.Thread(target=call, args=("ba", [b.pk, a.pk], 2)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    statuses = sorted(response.status_code for response in responses.values())
    assert statuses == [200, 503]
    loser = next(response for response in responses.values() if response.status_code == 503)
    assert loser.data == {
        "detail": "The request collided with another one and was not applied. Please retry.",
        "code": "concurrency_conflict",
    }
    assert loser["Retry-After"] == "1"
    # Each request writes its own value to both rows; the loser's first write was rolled back
    # with its transaction, so both rows hold the winner's value.
    winner_value = 1 if responses["ab"].status_code == 200 else 2
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.stock, b.stock) == (winner_value, winner_value)
