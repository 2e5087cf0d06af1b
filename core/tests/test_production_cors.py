"""Production CORS: with DEBUG off and no CORS_ALLOWED_ORIGINS, no cross-origin browser client is
allowed (no localhost default), and `check --deploy` says so (novacart.W004). Fresh processes, so
the settings module reads the environment as a deploy would."""

import os
import secrets
import subprocess
import sys

from django.conf import settings

PREFLIGHT = """
import django
django.setup()
from django.test import Client
response = Client().options(
    "/api/products/",
    HTTP_ORIGIN=%r,
    HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
    secure=True,
)
print("ALLOW=" + str(response.headers.get("Access-Control-Allow-Origin")))
"""

# App variables a developer's shell or CI may export that must not leak into these processes.
_CLEARED = {
    "DEBUG",
    "SECRET_KEY",
    "CORS_ALLOWED_ORIGINS",
    "ALLOWED_HOSTS",
    "REDIS_URL",
    "CSRF_TRUSTED_ORIGINS",
}


def _env(**variables: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in _CLEARED}
    env.update(DJANGO_SETTINGS_MODULE="backend.settings", LOG_LEVEL="ERROR", **variables)
    return env


def _production(**variables: str) -> dict[str, str]:
    return _env(DEBUG="false", SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS="testserver", **variables)


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120)


def _allowed(env: dict[str, str], origin: str) -> str:
    result = _run([sys.executable, "-c", PREFLIGHT % origin], env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1].removeprefix("ALLOW=")


def test_production_without_cors_origins_allows_no_cross_origin_client():
    env = _production()

    assert _allowed(env, "http://localhost:5173") == "None"
    assert _allowed(env, "http://localhost:3000") == "None"


def test_production_allows_exactly_the_configured_origins():
    env = _production(CORS_ALLOWED_ORIGINS="https://shop.example")

    assert _allowed(env, "https://shop.example") == "https://shop.example"
    assert _allowed(env, "http://localhost:5173") == "None"


def test_development_keeps_the_local_storefront_default():
    assert _allowed(_env(), "http://localhost:5173") == "http://localhost:5173"


def test_check_deploy_warns_without_cors_origins_and_not_with_them():
    command = [sys.executable, "manage.py", "check", "--deploy"]

    assert "novacart.W004" in _run(command, _production()).stderr
    assert (
        "novacart.W004" not in _run(command, _production(CORS_ALLOWED_ORIGINS="https://shop.example")).stderr
    )
    # What CI runs, with DEBUG on and the dev defaults, stays clean.
    ci = _run([sys.executable, "manage.py", "check", "--fail-level", "WARNING"], _env())
    assert ci.returncode == 0, ci.stdout + ci.stderr
