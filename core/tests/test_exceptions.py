"""`api_exception_handler`: every error leaves the API in the contract's shape, and rolls back."""

import pytest
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connection, transaction
from django.http import Http404
from rest_framework import exceptions as drf_exceptions
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from core.exceptions import (
    AmountMismatch,
    ApplicationError,
    CartEmpty,
    IdempotencyConflict,
    InsufficientStock,
    InvalidTransition,
    NotFound,
    PaymentProviderError,
    ProductUnavailable,
    ServiceUnavailable,
    api_exception_handler,
)
from users.models import User

factory = APIRequestFactory()


def raising_view(exc: Exception):
    """A tiny public view that raises `exc`."""

    class _View(APIView):
        authentication_classes: list = []
        permission_classes: list = []

        def get(self, request):
            raise exc

        def post(self, request):
            raise exc

    return _View.as_view()


def call(exc: Exception):
    response = raising_view(exc)(factory.get("/x/"))
    response.render()
    return response


@pytest.mark.parametrize(
    ("exc_class", "status", "code"),
    [
        (NotFound, 404, "not_found"),
        (InsufficientStock, 409, "insufficient_stock"),
        (ProductUnavailable, 409, "product_unavailable"),
        (CartEmpty, 400, "cart_empty"),
        (InvalidTransition, 409, "invalid_transition"),
        (AmountMismatch, 400, "amount_mismatch"),
        (PaymentProviderError, 502, "payment_provider_error"),
        (IdempotencyConflict, 409, "idempotency_conflict"),
        (ServiceUnavailable, 503, "service_unavailable"),
        (ApplicationError, 400, "error"),
    ],
)
def test_application_errors_render_status_detail_and_code(exc_class, status, code):
    response = call(exc_class())

    assert response.status_code == status
    assert response.data == {"detail": exc_class.default_message, "code": code}


def test_application_error_message_code_status_and_extra():
    response = call(
        InsufficientStock("Only 2 left of Lamp.", extra={"available": 2, "product_id": 7}),
    )

    assert response.status_code == 409
    assert response.data == {
        "detail": "Only 2 left of Lamp.",
        "code": "insufficient_stock",
        "available": 2,
        "product_id": 7,
    }

    response = call(ApplicationError("Teapot.", code="teapot", status_code=418))
    assert (response.status_code, response.data) == (418, {"detail": "Teapot.", "code": "teapot"})


def test_status_override_does_not_leak_into_the_class():
    ApplicationError("x", status_code=418)

    assert ApplicationError().status_code == 400
    assert call(ApplicationError()).status_code == 400


def test_django_validation_error_with_fields_becomes_the_field_shape():
    response = call(DjangoValidationError({"email": ["Taken."], "password": ["Too short.", "Too common."]}))

    assert response.status_code == 400
    assert response.data == {"email": ["Taken."], "password": ["Too short.", "Too common."]}


def test_django_validation_error_without_a_field_is_non_field_errors():
    response = call(DjangoValidationError("Something is off."))

    assert response.status_code == 400
    assert response.data == {"non_field_errors": ["Something is off."]}


def test_django_validation_error_all_key_is_non_field_errors():
    # What `Model.full_clean()` raises for a model-wide error or a violated constraint.
    response = call(DjangoValidationError({"__all__": ["Constraint violated."], "city": ["Required."]}))

    assert response.status_code == 400
    assert response.data == {"non_field_errors": ["Constraint violated."], "city": ["Required."]}


def test_drf_validation_error_keeps_the_field_shape():
    response = call(drf_exceptions.ValidationError({"quantity": ["Must be at least 1."]}))
    assert (response.status_code, response.data) == (400, {"quantity": ["Must be at least 1."]})

    response = call(drf_exceptions.ValidationError("Plain message."))
    assert (response.status_code, response.data) == (400, {"non_field_errors": ["Plain message."]})


def test_http404_is_not_found():
    response = call(Http404("No Order matches the given query."))

    assert response.status_code == 404
    assert response.data["code"] == "not_found"
    assert set(response.data) == {"detail", "code"}


@pytest.mark.parametrize("exc", [DjangoPermissionDenied(), drf_exceptions.PermissionDenied()])
def test_permission_denied_is_403(exc):
    response = call(exc)

    assert response.status_code == 403
    assert response.data["code"] == "permission_denied"
    assert set(response.data) == {"detail", "code"}


def test_throttled_is_429_with_retry_after():
    response = call(drf_exceptions.Throttled(wait=7))

    assert response.status_code == 429
    assert response.data["code"] == "throttled"
    assert response["Retry-After"] == "7"


def test_method_not_allowed_keeps_the_shape():
    class _View(APIView):
        authentication_classes: list = []
        permission_classes: list = []

        def get(self, request):
            return Response({})

    response = _View.as_view()(factory.delete("/x/"))

    assert response.status_code == 405
    assert response.data["code"] == "method_not_allowed"


class _PrivateView(APIView):
    permission_classes = [IsAuthenticated]

    def get(self, request):
        return Response({"ok": True})


@pytest.mark.django_db
def test_not_authenticated_is_401_not_authenticated():
    response = _PrivateView.as_view()(factory.get("/x/"))

    assert response.status_code == 401
    assert response.data == {
        "detail": "Authentication credentials were not provided.",
        "code": "not_authenticated",
    }
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db
def test_invalid_jwt_is_401_with_a_flat_detail():
    response = _PrivateView.as_view()(factory.get("/x/", HTTP_AUTHORIZATION="Bearer not-a-token"))

    assert response.status_code == 401
    assert response.data["code"] == "token_not_valid"
    assert isinstance(response.data["detail"], str)
    assert set(response.data) == {"detail", "code"}


def test_invalid_json_body_is_400_not_500():
    class _EchoView(APIView):
        authentication_classes: list = []
        permission_classes: list = []

        def post(self, request):
            return Response(request.data)

    response = _EchoView.as_view()(factory.post("/x/", data='{"a": 1,,}', content_type="application/json"))

    assert response.status_code == 400
    assert response.data["code"] == "parse_error"
    assert set(response.data) == {"detail", "code"}


def test_unknown_exceptions_are_left_to_django():
    assert api_exception_handler(ValueError("boom"), {}) is None


class _WriteThenFailView(APIView):
    authentication_classes: list = []
    permission_classes: list = []
    error: Exception = CartEmpty()

    def post(self, request):
        User.objects.create(username="written-then-failed", email="written@example.com")
        raise self.error


@pytest.mark.django_db
@pytest.mark.parametrize(
    "error",
    [CartEmpty(), DjangoValidationError({"field": ["bad"]}), Http404()],
    ids=["application-error", "django-validation-error", "http404"],
)
def test_handled_errors_roll_back_the_request_transaction(monkeypatch, error):
    # What ATOMIC_REQUESTS does: the view runs inside atomic(); the handler marks it for rollback.
    monkeypatch.setitem(connection.settings_dict, "ATOMIC_REQUESTS", True)
    view = _WriteThenFailView.as_view(error=error)

    with transaction.atomic():
        response = view(factory.post("/x/", {}, format="json"))
        assert connection.needs_rollback is True

    assert response.status_code in (400, 404)
    assert not User.objects.filter(username="written-then-failed").exists()


@pytest.mark.django_db
def test_without_an_error_the_request_transaction_commits(monkeypatch):
    monkeypatch.setitem(connection.settings_dict, "ATOMIC_REQUESTS", True)

    class _WriteView(APIView):
        authentication_classes: list = []
        permission_classes: list = []

        def post(self, request):
            User.objects.create(username="written-ok", email="ok@example.com")
            return Response(status=201)

    with transaction.atomic():
        response = _WriteView.as_view()(factory.post("/x/", {}, format="json"))

    assert response.status_code == 201
    assert User.objects.filter(username="written-ok").exists()
