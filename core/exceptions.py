"""One error vocabulary for the whole API.

Services raise `ApplicationError` subclasses; `api_exception_handler` renders them, DRF's own
exceptions and Django's `ValidationError`/`Http404`/`PermissionDenied` in the contract's shape:
validation errors as `{"field": ["message"]}`, every other error as `{"detail", "code"}`.
It is the only error renderer: views raise, they never build an error body themselves.

A view whose client reads the message from another key declares it as `error_alias` (the
storefront's cart update: `error_alias = "error"`): the errors its handler raised (business,
validation and unreadable-body errors) then also carry the message under that key, and
validation errors gain `detail` and `code: "invalid"` beside the field errors.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import (
    NON_FIELD_ERRORS,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import OperationalError as DatabaseOperationalError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler, set_rollback


class ApplicationError(Exception):
    """A business error a client can act on. `extra` is merged into the response body."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "error"
    default_message = "The request could not be completed."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        status_code: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.code = code or self.default_code
        if status_code is not None:
            self.status_code = status_code
        self.extra = extra or {}
        super().__init__(self.message)


class NotFound(ApplicationError):
    status_code = status.HTTP_404_NOT_FOUND
    default_code = "not_found"
    default_message = "Not found."


class InsufficientStock(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "insufficient_stock"
    default_message = "Not enough stock."


class ProductUnavailable(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "product_unavailable"
    default_message = "This product is not available."


class CartEmpty(ApplicationError):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "cart_empty"
    default_message = "Your cart is empty."


class InvalidTransition(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "invalid_transition"
    default_message = "This order cannot make that status change."


class AmountMismatch(ApplicationError):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "amount_mismatch"
    default_message = "The amount does not match the order total."


class AmountTooLarge(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "amount_too_large"
    default_message = "This amount is too large to be processed."


class PaymentProviderError(ApplicationError):
    status_code = status.HTTP_502_BAD_GATEWAY
    default_code = "payment_provider_error"
    default_message = "The payment provider could not be reached. Please try again."


class IdempotencyConflict(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "idempotency_conflict"
    default_message = "This Idempotency-Key was already used with a different request."


class ServiceUnavailable(ApplicationError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "service_unavailable"
    default_message = "A service this request needs is unavailable. Please try again."


class RequestTooLarge(ApplicationError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"
    default_message = "The request body is too large."


class BadRequest(ApplicationError):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "bad_request"
    default_message = "The request could not be understood."


def request_error_for(exc: BaseException) -> ApplicationError | None:
    """The contract's error for one of Django's request-parsing refusals (a body over
    DATA_UPLOAD_MAX_MEMORY_SIZE, too many fields or files: all `SuspiciousOperation`s, which
    Django would render as its HTML 400 page), or None for anything else."""
    if isinstance(exc, RequestDataTooBig):
        return RequestTooLarge()
    if isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        return RequestTooLarge("The request has too many fields or files.")
    if isinstance(exc, SuspiciousOperation):
        return BadRequest()
    return None


def _log_request_error(exc: BaseException) -> None:
    # Django logs these on `django.security.<name>` when it renders them; keep that record.
    logging.getLogger(f"django.security.{exc.__class__.__name__}").warning(str(exc))


def _code_of(exc: exceptions.APIException) -> str:
    codes = exc.get_codes()
    if isinstance(codes, str):
        return codes
    return getattr(exc, "default_code", "error")


# PostgreSQL aborts one side of a lock cycle (deadlock_detected), a serialisation conflict
# (serialization_failure) or a wait on a row lock longer than DB_LOCK_TIMEOUT (lock_not_available).
# The transaction is already rolled back, so nothing was written and the same request can simply
# be sent again: a retryable 503, not a 500.
RETRYABLE_SQLSTATES = {"40P01", "40001", "55P03"}


class ConcurrencyConflict(ApplicationError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "concurrency_conflict"
    default_message = "The request collided with another one and was not applied. Please retry."


def _retryable_database_error(exc: Exception) -> bool:
    if not isinstance(exc, DatabaseOperationalError):
        return False
    cause = exc.__cause__
    return getattr(cause, "sqlstate", None) in RETRYABLE_SQLSTATES


# The errors a view's own code raises (not authentication, permission or throttling ones).
ALIASED_ERRORS = (
    ApplicationError,
    exceptions.ValidationError,
    exceptions.ParseError,
    exceptions.UnsupportedMediaType,
)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    response = _render(exc, context)
    alias = getattr(context.get("view"), "error_alias", None)
    if alias and response is not None and isinstance(exc, ALIASED_ERRORS) and isinstance(response.data, dict):
        data = response.data
        if "detail" not in data:  # field errors
            message = " ".join(str(m) for messages in data.values() for m in messages)
            data = {"detail": message, "code": "invalid", **data}
        response.data = {alias: data["detail"], **data}
    return response


def _render(exc: Exception, context: dict[str, Any]) -> Response | None:
    if _retryable_database_error(exc):
        exc = ConcurrencyConflict()
        set_rollback()
        response = Response({"detail": exc.message, "code": exc.code}, status=exc.status_code)
        response["Retry-After"] = "1"
        return response

    if (request_error := request_error_for(exc)) is not None:
        _log_request_error(exc)
        exc = request_error
    if isinstance(exc, ApplicationError):
        set_rollback()
        body = {"detail": exc.message, "code": exc.code, **exc.extra}
        return Response(body, status=exc.status_code)

    if isinstance(exc, DjangoValidationError):
        detail = as_serializer_error(exc)
        # Model.full_clean() puts model-wide errors (and violated constraints) under "__all__".
        if NON_FIELD_ERRORS in detail:
            detail[api_settings.NON_FIELD_ERRORS_KEY] = detail.pop(NON_FIELD_ERRORS)
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = exception_handler(exc, context)
    if response is None:
        return None

    if isinstance(exc, exceptions.ValidationError):
        if not isinstance(response.data, dict):
            response.data = {"non_field_errors": response.data}
        return response

    if isinstance(exc, exceptions.APIException):
        detail = exc.detail
        if isinstance(detail, dict) and "detail" in detail:
            # simplejwt's InvalidToken carries {"detail", "code", "messages"}.
            message = str(detail["detail"])
            code = str(detail.get("code", _code_of(exc)))
        elif isinstance(detail, (list, dict)):
            message = str(detail)
            code = _code_of(exc)
        else:
            message = str(detail)
            code = _code_of(exc)
        response.data = {"detail": message, "code": code}
    return response
