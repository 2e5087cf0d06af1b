"""Structured request logs: one JSON line per request with the authenticated user's id and a request
id, and no password, token or Authorization value anywhere in the log output."""

import io
import json
import logging
import re
import uuid

import pytest
from django.conf import settings
from django.test import RequestFactory
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from core.logging import REDACTED, RedactingJsonFormatter, RequestIdFilter, request_id_var
from core.middleware import new_request_id
from users.tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def log_output():
    """Everything logged during the test (every logger, DEBUG and up), formatted exactly as the
    production handler formats it. Returns a callable giving the text so far."""
    config = settings.LOGGING["formatters"]["json"]
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingJsonFormatter(fmt=config["fmt"], rename_fields=config["rename_fields"]))
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    previous_level = root.level
    root.setLevel(logging.DEBUG)
    root.addHandler(handler)
    yield stream.getvalue
    root.removeHandler(handler)
    root.setLevel(previous_level)


def _request_lines(text: str) -> list[dict]:
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    return [line for line in lines if line["logger"] == "novacart.request"]


# --- one line per request ----------------------------------------------------------------------------
def test_one_json_line_per_request_with_the_request_id(api_client, log_output):
    response = api_client.get("/api/health/", HTTP_X_REQUEST_ID="req-abc.123")

    assert response.status_code == 200
    assert response["X-Request-ID"] == "req-abc.123"
    [line] = _request_lines(log_output())
    assert line["message"] == "request"
    assert line["method"] == "GET"
    assert line["path"] == "/api/health/"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["user_id"] is None
    assert line["request_id"] == "req-abc.123"
    assert line["level"] == "INFO"
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$", line["time"])


def test_a_refused_host_is_one_warning_line_without_a_traceback(api_client, log_output):
    # Django logs DisallowedHost at ERROR with a traceback: an error-tracker event per scanner
    # request. It is the client's mistake, answered 400.
    response = api_client.get("/api/health/", HTTP_HOST="evil.example")

    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"
    lines = [json.loads(line) for line in log_output().splitlines() if line.strip()]
    [refused] = [line for line in lines if line["logger"] == "django.security.DisallowedHost"]
    assert refused["level"] == "WARNING"
    assert "evil.example" in refused["message"]
    assert "exc_info" not in refused
    assert not [line for line in lines if line["level"] in ("ERROR", "CRITICAL")]
    [request_line] = _request_lines(log_output())
    assert request_line["status"] == 400


@pytest.mark.parametrize("incoming", ["", "has spaces", "x" * 129, "semi;colon", "new\nline"])
def test_a_missing_or_unsafe_request_id_is_replaced(api_client, log_output, incoming):
    headers = {"HTTP_X_REQUEST_ID": incoming} if incoming else {}
    response = api_client.get("/api/health/", **headers)

    generated = response["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    [line] = _request_lines(log_output())
    assert line["request_id"] == generated


def test_a_generated_request_id_is_a_random_uuid_in_hex():
    ids = [new_request_id() for _ in range(2000)]

    assert len(set(ids)) == len(ids)
    for request_id in ids[:200]:
        parsed = uuid.UUID(request_id)
        assert parsed.hex == request_id  # 32 lowercase hex digits, as uuid4().hex
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
    # Every one of the 122 random bits varies.
    varying = 0
    for request_id in ids:
        varying |= int(request_id, 16) ^ int(ids[0], 16)
    assert bin(varying).count("1") == 122


def test_the_request_id_is_on_every_line_logged_while_serving(api_client, log_output):
    logger = logging.getLogger("novacart.test")

    request = RequestFactory().get("/")
    token = request_id_var.set("inner-id")
    try:
        logger.info("inside", extra={"path": request.path})
    finally:
        request_id_var.reset(token)
    logger.info("outside")

    lines = {line["message"]: line for line in map(json.loads, log_output().splitlines())}
    assert lines["inside"]["request_id"] == "inner-id"
    assert lines["outside"]["request_id"] == "-"


def test_jwt_requests_log_the_token_users_id(auth_client, user, log_output):
    """DRF authenticates inside the view; the middleware still sees the token's user."""
    response = auth_client.get("/api/me/")

    assert response.status_code == 200
    [line] = _request_lines(log_output())
    assert line["user_id"] == user.pk
    assert line["status"] == 200


def test_failed_authentication_logs_no_user(api_client, user, log_output):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    response = api_client.get("/api/me/")

    assert response.status_code == 401
    [line] = _request_lines(log_output())
    assert line["user_id"] is None
    assert line["status"] == 401


def test_a_not_found_path_is_logged_too(api_client, log_output):
    response = api_client.get("/api/no-such-endpoint/")

    assert response.status_code == 404
    [line] = _request_lines(log_output())
    assert (line["path"], line["status"]) == ("/api/no-such-endpoint/", 404)


# --- nothing secret in the logs ---------------------------------------------------------------------
def test_login_and_token_use_leave_no_secret_in_the_logs(api_client, user, log_output):
    login = api_client.post("/api/token/", {"email": user.email, "password": DEFAULT_PASSWORD}, format="json")
    assert login.status_code == 200
    access, refresh = login.data["access"], login.data["refresh"]

    wrong = api_client.post(
        "/api/token/", {"email": user.email, "password": "Wr0ng-guess-pass!"}, format="json"
    )
    assert wrong.status_code == 401

    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    assert api_client.get("/api/me/?token=query-secret-123").status_code == 200
    api_client.credentials()
    rotated = api_client.post("/api/token/refresh/", {"refresh": refresh}, format="json")
    assert rotated.status_code == 200

    output = log_output()
    # The capture worked: one request line each, the signed-in one with the user's id.
    lines = _request_lines(output)
    assert [line["path"] for line in lines] == [
        "/api/token/",
        "/api/token/",
        "/api/me/",
        "/api/token/refresh/",
    ]
    assert lines[2]["user_id"] == user.pk
    for secret in (
        DEFAULT_PASSWORD,
        "Wr0ng-guess-pass!",
        access,
        refresh,
        rotated.data["access"],
        "query-secret-123",
        "Bearer",
    ):
        assert secret not in output


# --- the formatter masks what reaches a log call by accident ------------------------------------------
@pytest.fixture
def format_record():
    config = settings.LOGGING["formatters"]["json"]
    formatter = RedactingJsonFormatter(fmt=config["fmt"], rename_fields=config["rename_fields"])

    def format_(msg, *args, **extra):
        record = logging.LogRecord("novacart.test", logging.INFO, __file__, 1, msg, args, None)
        record.__dict__.update(extra)
        text = formatter.format(record)
        return text, json.loads(text)

    return format_


JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VyX2lkIjoxfQ.c2lnbmF0dXJlLXZhbHVl"


def test_secrets_in_messages_are_masked(format_record):
    text, line = format_record(
        "login payload %s with header %s",
        {"email": "ada@example.com", "password": "hunter2-secret", "refresh": JWT},
        "Authorization: Bearer abc.def.ghi",
    )
    for secret in ("hunter2-secret", JWT, "abc.def.ghi"):
        assert secret not in text
    assert "ada@example.com" in line["message"]  # the rest of the message is kept
    assert REDACTED in line["message"]


def test_sensitive_fields_are_masked(format_record):
    text, line = format_record(
        "stripe call",
        headers={"Authorization": "Bearer sk_test_abcdef123456"},
        api_key="re_live_123456",
        client_secret="pi_123_secret_456",
        data={
            "name": "core.tasks.send_templated_email",
            "kwargs": {"context": {"reset_url": "https://x/r/tok"}},
        },
        broker="redis://:redis-password@10.0.0.5:6379/0",
        order_id=42,
    )
    for secret in ("sk_test_abcdef123456", "re_live_123456", "pi_123_secret_456", "/r/tok", "redis-password"):
        assert secret not in text
    assert line["headers"] == REDACTED
    assert line["data"]["name"] == "core.tasks.send_templated_email"
    assert line["data"]["kwargs"] == REDACTED
    assert line["broker"] == f"redis://:{REDACTED}@10.0.0.5:6379/0"
    assert line["order_id"] == 42


def test_a_logged_request_object_shows_no_query_string(format_record):
    request = RequestFactory().get("/api/me/", {"token": "query-secret-456"})
    text, line = format_record("Internal Server Error: %s", request.path, request=request, status_code=500)
    assert "query-secret-456" not in text
    assert line["request"] == "GET /api/me/"


# --- the quick path of scrub_text ---------------------------------------------------------------------
_FRAGMENTS = [
    "GET",
    "/api/products/12/",
    "request",
    "INFO",
    "novacart.request",
    " ",
    "=",
    ":",
    "'",
    '"',
    ",",
    "@",
    "password",
    "PassWd",
    "secret",
    "client_secret",
    "token",
    "Api-Key",
    "api_key",
    "apikey",
    "Authorization",
    "access",
    "REFRESH",
    "Bearer",
    "basic",
    "eyJhbGciOi",
    ".",
    "eyJzdWIi",
    "abc_DEF-12",
    "redis://",
    "postgres://user:pw@db",
    "sk_test_123456789",
    "rk_live_abcdefg",
    "whsec_0123456789",
    "sk_",
    "ey",
    "J",
    "://",
    "x",
    "2026-12-06T04:11:45.771+00:00",
    # Letters the regex's case-insensitive matching equates with ASCII ones (long s, Kelvin sign,
    # dotless i): a text holding one takes the regex, not the ASCII pre-check.
    "pa\u017fsword",
    "api\u212aey",
    "\u0131",
    "\u017f",
]


@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=12).map("".join) | st.text(max_size=40))
@hypothesis_settings(max_examples=400, deadline=None)
def test_scrub_text_skips_only_texts_no_pattern_can_change(text):
    """The cheap pre-check never lets through a text that one of the five patterns would change."""
    from core.logging import _scrub_text_fully, scrub_text

    assert scrub_text(text) == _scrub_text_fully(text)


@pytest.mark.parametrize(
    "text",
    ["pa\u017fsword=hunter2", "api\u212aey: abc123", "Bas\u0131c dXNlcjpwYXNz", "\u017fk_live_abcdefgh"],
)
def test_a_secret_spelled_with_letters_the_regex_folds_is_still_masked(text):
    """Non-ASCII letters that case-insensitive matching equates with ASCII ones take the regex."""
    from core.logging import _scrub_text_fully, scrub_text

    assert scrub_text(text) == _scrub_text_fully(text)
    if "\u017fk_" not in text:
        assert REDACTED in scrub_text(text)


def test_every_word_of_the_regex_pre_check_is_an_ascii_hint():
    """The ASCII pre-check's hints cover every alternative of the regex pre-check, so a word added
    to one (a new sensitive name, say) and not the other fails here, not silently in production."""
    from core.logging import _MAY_HOLD_A_SECRET, _SECRET_HINTS

    for alternative in _MAY_HOLD_A_SECRET.pattern.split("|"):
        spellings = [alternative.replace("[-_]?", sep) for sep in ("", "-", "_")]
        for word in spellings:
            assert re.fullmatch(_MAY_HOLD_A_SECRET, word), word  # a spelling the regex matches
            assert any(hint in word.lower() for hint in _SECRET_HINTS), word


def test_a_request_line_without_secrets_is_not_rewritten():
    from core.logging import scrub_text

    for text in ("GET", "/api/products/12/", "novacart.request", "2026-12-06T04:11:45.771+00:00"):
        assert scrub_text(text) is text
