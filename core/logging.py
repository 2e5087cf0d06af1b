"""Structured logging: the request id of the request being served, and JSON lines with secrets masked.

Every record (web, worker, beat) goes through `RedactingJsonFormatter`, so a password, token,
API key or `Authorization` value that reaches a log call by accident - a serializer's data, a
Celery task's kwargs, a URL with credentials, a traceback message - is masked before it is written.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import re
from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest
from pythonjsonlogger.json import JsonFormatter

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

# The fields of every JSON line (the app's LOGGING, the web server's own lines in backend/serve.py).
JSON_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
JSON_RENAME_FIELDS = {"asctime": "time", "levelname": "level", "name": "logger"}

REDACTED = "[redacted]"

# Field names whose values are never logged. `args`/`kwargs` are a Celery task's arguments
# (the worker logs them on receipt and failure); email context may hold a reset link.
_SENSITIVE_KEY = re.compile(
    r"passw|secret|token|authori[sz]ation|cookie|api[-_]?key|signature|credential|csrf|session"
    r"|^(?:access|refresh|dsn|args|kwargs|argsrepr|kwargsrepr|headers|body|data_raw)$",
    re.IGNORECASE,
)
_SENSITIVE_WORDS = r"password|passwd|secret|token|api[-_]?key|authorization|access|refresh|client_secret"
_TEXT_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # JSON Web Tokens (simplejwt access/refresh tokens) wherever they appear.
    (re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"), REDACTED),
    # "Authorization: Bearer xyz", "Basic xyz".
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/-]+=*"), rf"\1 {REDACTED}"),
    # password=..., "token": "...", 'secret': '...' in messages and reprs.
    (
        re.compile(
            rf"(?i)([\"']?[\w-]*(?:{_SENSITIVE_WORDS})[\w-]*[\"']?\s*[:=]\s*)(\"[^\"]*\"|'[^']*'|[^\s,;&}}\]]+)"
        ),
        rf"\1'{REDACTED}'",
    ),
    # Credentials inside URLs: redis://:pw@host, postgres://user:pw@host.
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]*:)[^@\s/]+@"), rf"\1{REDACTED}@"),
    # Stripe secret keys and webhook secrets.
    (re.compile(r"\b(?:sk|rk|whsec)_\w{6,}"), REDACTED),
]


# Every pattern above needs one of these substrings to match at all (the JWT prefix, the scheme
# words, a sensitive word, a URL's "://", a Stripe key prefix), so a text without any of them comes
# back unchanged: one search instead of five substitutions, for the strings of every log line
# (time, level, logger, message, path...). test_logging checks it against the five passes.
_MAY_HOLD_A_SECRET = re.compile(rf"eyJ|bearer|basic|{_SENSITIVE_WORDS}|://|sk_|rk_|whsec_", re.IGNORECASE)


# The same substrings in lower case, for a text that is all ASCII (nearly every one): a search in C
# per hint costs a quarter of the case-insensitive regex. Any other text takes the regex, whose
# case-insensitive matching also equates some non-ASCII letters with ASCII ones (U+017F, long s,
# with s; U+212A, the Kelvin sign, with k).
_SECRET_HINTS = (
    *("eyj", "bearer", "basic", "password", "passwd", "secret", "token", "apikey", "api-key", "api_key"),
    *("authorization", "access", "refresh", "://", "sk_", "rk_", "whsec_"),
)


def scrub_text(text: str) -> str:
    if text.isascii():
        lowered = text.lower()
        for hint in _SECRET_HINTS:  # a plain loop: any() over a generator costs twice as much
            if hint in lowered:
                return _scrub_text_fully(text)
        return text
    if _MAY_HOLD_A_SECRET.search(text):
        return _scrub_text_fully(text)
    return text


@functools.lru_cache(maxsize=1024)
def _is_sensitive_key(key: str) -> bool:
    """Whether a field of this name is never logged; the same few names come on every line."""
    return _SENSITIVE_KEY.search(key) is not None


def _scrub_text_fully(text: str) -> str:
    for pattern, replacement in _TEXT_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def scrub(value: Any, depth: int = 0) -> Any:
    """A copy of `value` safe to log: sensitive keys masked, secrets in text masked."""
    if depth > 6:
        return REDACTED
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {
            key: (REDACTED if isinstance(key, str) and _is_sensitive_key(key) else scrub(item, depth + 1))
            for key, item in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [scrub(item, depth + 1) for item in value]
    if isinstance(value, HttpRequest):
        # Django's request logger passes the request; its repr carries the query string.
        return f"{value.method} {value.path}"
    return scrub_text(str(value))


class RedactingJsonFormatter(JsonFormatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        # ISO 8601 in UTC, on every line of web, worker and beat.
        return datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds")

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        return scrub(super().process_log_record(log_data))


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


class RefusedHostAsWarning(logging.Filter):
    """Django logs a request whose Host header is not in ALLOWED_HOSTS (`DisallowedHost`) at ERROR
    with a traceback; scanners send such requests all day, and error tracking (Sentry's logging
    integration) turns each ERROR into an event. The request is the client's mistake and is
    answered 400: this keeps its record as one WARNING line with Django's message (the refused
    host), without the traceback. On the `django.security.DisallowedHost` logger only."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.WARNING:
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.exc_info = None
        record.exc_text = None
        return True
