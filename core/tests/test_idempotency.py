"""`idempotent_call`: one run per (user, scope, Idempotency-Key); replays, conflicts, failures, races."""

import threading
import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from conftest import run_together
from core.exceptions import ApplicationError, IdempotencyConflict, InsufficientStock
from core.idempotency import MAX_KEY_LENGTH, idempotent_call
from core.models import IdempotencyRecord
from users.models import User
from users.tests.factories import UserFactory


class Producer:
    """A `produce` callable that counts its runs and writes a row, like a real create would."""

    def __init__(self, status=201, body=None, delay=0.0, fail_times=0):
        self.calls = 0
        self.status = status
        self.body = body if body is not None else {"id": 1}
        self.delay = delay
        self.fail_times = fail_times
        self._lock = threading.Lock()

    def __call__(self):
        with self._lock:
            self.calls += 1
            attempt = self.calls
        User.objects.create(
            username=f"produced-{attempt}-{time.monotonic_ns()}", email=f"p{attempt}@example.com"
        )
        if self.delay:
            time.sleep(self.delay)
        if attempt <= self.fail_times:
            raise InsufficientStock(extra={"available": 0})
        return self.status, {**self.body, "attempt": attempt}


def produced_rows() -> int:
    return User.objects.filter(username__startswith="produced-").count()


@pytest.mark.django_db
def test_same_key_and_payload_replays_the_first_response(user):
    produce = Producer(body={"total": Decimal("59.99"), "at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)})

    first = idempotent_call(user=user, scope="orders.create", key="k-1", payload={"a": 1}, produce=produce)
    second = idempotent_call(user=user, scope="orders.create", key="k-1", payload={"a": 1}, produce=produce)

    assert produce.calls == 1
    assert produced_rows() == 1
    assert first[0] == second[0] == 201
    # The retry gets exactly what the first call got (JSON-normalised both times).
    assert first == second
    assert second[1] == {"total": "59.99", "at": "2026-01-02T03:04:05Z", "attempt": 1}
    record = IdempotencyRecord.objects.get()
    assert (record.user, record.scope, record.key, record.response_status) == (
        user,
        "orders.create",
        "k-1",
        201,
    )


@pytest.mark.django_db
def test_payload_key_order_does_not_matter(user):
    produce = Producer()

    idempotent_call(user=user, scope="s", key="k", payload={"a": 1, "b": [1, 2]}, produce=produce)
    idempotent_call(user=user, scope="s", key="k", payload={"b": [1, 2], "a": 1}, produce=produce)

    assert produce.calls == 1


@pytest.mark.django_db
def test_same_key_with_a_different_payload_is_a_conflict(user):
    produce = Producer()
    idempotent_call(user=user, scope="s", key="k", payload={"amount": 100}, produce=produce)

    with pytest.raises(IdempotencyConflict) as excinfo:
        idempotent_call(user=user, scope="s", key="k", payload={"amount": 101}, produce=produce)

    assert excinfo.value.status_code == 409
    assert excinfo.value.code == "idempotency_conflict"
    assert produce.calls == 1
    assert produced_rows() == 1
    assert IdempotencyRecord.objects.count() == 1


@pytest.mark.django_db
def test_a_failed_produce_leaves_no_record_and_the_retry_runs_again(user):
    produce = Producer(fail_times=1)

    with pytest.raises(InsufficientStock):
        idempotent_call(user=user, scope="s", key="k", payload={}, produce=produce)

    assert not IdempotencyRecord.objects.exists()
    assert produced_rows() == 0  # the work done before the failure rolled back with it

    status, body = idempotent_call(user=user, scope="s", key="k", payload={}, produce=produce)

    assert (status, body["attempt"]) == (201, 2)
    assert produce.calls == 2
    assert produced_rows() == 1
    assert IdempotencyRecord.objects.count() == 1


@pytest.mark.django_db
def test_no_key_runs_every_time_and_stores_nothing(user):
    produce = Producer()

    for key in (None, "", None):
        idempotent_call(user=user, scope="s", key=key, payload={}, produce=produce)

    assert produce.calls == 3
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.django_db
def test_key_length_limit(user):
    produce = Producer()

    with pytest.raises(ApplicationError) as excinfo:
        idempotent_call(user=user, scope="s", key="k" * (MAX_KEY_LENGTH + 1), payload={}, produce=produce)
    assert excinfo.value.status_code == 400
    assert produce.calls == 0

    idempotent_call(user=user, scope="s", key="k" * MAX_KEY_LENGTH, payload={}, produce=produce)
    assert produce.calls == 1
    assert IdempotencyRecord.objects.get().key == "k" * MAX_KEY_LENGTH


@pytest.mark.django_db
def test_different_users_and_scopes_with_the_same_key_are_independent(user, other_user):
    produce = Producer()

    idempotent_call(user=user, scope="orders.create", key="same", payload={}, produce=produce)
    idempotent_call(user=other_user, scope="orders.create", key="same", payload={"x": 1}, produce=produce)
    idempotent_call(user=user, scope="payments.payment_intent", key="same", payload={"y": 2}, produce=produce)

    assert produce.calls == 3
    assert IdempotencyRecord.objects.count() == 3


# --- Through a view, as orders and payments use it ----------------------------------------


class _IdempotentView(APIView):
    produce: Producer | None = None

    def post(self, request):
        status, body = idempotent_call(
            user=request.user,
            scope="test.view",
            key=request.headers.get("Idempotency-Key"),
            payload=request.data,
            produce=self.produce,
        )
        return Response(body, status=status)


def post_view(view, user, data, key):
    request = APIRequestFactory().post("/x/", data, format="json", HTTP_IDEMPOTENCY_KEY=key)
    force_authenticate(request, user=user)
    response = view(request)
    response.render()
    return response


@pytest.mark.django_db
def test_http_replay_conflict_and_key_too_long(user):
    produce = Producer()
    view = _IdempotentView.as_view(produce=produce)

    first = post_view(view, user, {"a": 1}, "abc")
    replay = post_view(view, user, {"a": 1}, "abc")
    conflict = post_view(view, user, {"a": 2}, "abc")
    too_long = post_view(view, user, {"a": 1}, "x" * 256)

    assert (first.status_code, replay.status_code) == (201, 201)
    assert first.content == replay.content
    assert conflict.status_code == 409
    assert conflict.data["code"] == "idempotency_conflict"
    assert too_long.status_code == 400
    assert set(too_long.data) == {"detail", "code"}
    assert produce.calls == 1


# --- Concurrency (PostgreSQL) -------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_calls_with_the_same_key_produce_once():
    user = UserFactory()
    produce = Producer(delay=0.3)
    threads_count = 5

    results = run_together(
        threads_count,
        lambda i: idempotent_call(
            user=user, scope="orders.create", key="race", payload={"a": 1}, produce=produce
        ),
    )

    errors = [result for result in results if isinstance(result, Exception)]
    assert not errors, errors
    assert produce.calls == 1
    assert produced_rows() == 1
    assert len(results) == threads_count
    assert all(result == (201, {"id": 1, "attempt": 1}) for result in results)
    assert IdempotencyRecord.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_retry_after_a_failed_first_call_runs_again():
    user = UserFactory()
    produce = Producer(delay=0.3, fail_times=1)
    results = run_together(
        2, lambda i: idempotent_call(user=user, scope="s", key="race", payload={}, produce=produce)
    )

    outcomes = ["failed" if isinstance(result, InsufficientStock) else result for result in results]
    errors = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    assert not errors, errors
    # The first run failed and rolled back its record; the waiting call then ran the work itself.
    assert sorted(map(str, outcomes)) == sorted(["failed", str((201, {"id": 1, "attempt": 2}))])
    assert produce.calls == 2
    assert produced_rows() == 1
    assert IdempotencyRecord.objects.count() == 1
