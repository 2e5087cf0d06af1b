"""`X-Forwarded-For` is trusted only as far as `NUM_PROXIES` says: a client that forges the header
does not get a fresh throttle bucket."""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings

from users.throttling import AuthRateThrottle

pytestmark = pytest.mark.django_db

LOGIN = ("/api/token/", {"email": "nobody@example.com", "password": "wrong"})


@pytest.fixture
def rate_3_per_min(monkeypatch):
    monkeypatch.setattr(AuthRateThrottle, "rate", "3/min", raising=False)


def _spend_bucket(client, **headers):
    url, payload = LOGIN
    statuses = [client.post(url, payload, **headers).status_code for _ in range(3)]
    assert 429 not in statuses


def test_num_proxies_defaults_to_zero_with_debug_on_and_off():
    env = {
        key: value for key, value in os.environ.items() if key not in {"NUM_PROXIES", "DEBUG", "SECRET_KEY"}
    }
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps(s.REST_FRAMEWORK['NUM_PROXIES']))"
    )
    for extra in ({}, {"SECRET_KEY": "x" * 60, "DEBUG": "false", "ALLOWED_HOSTS": "api.example"}):
        result = subprocess.run(
            [sys.executable, "-c", code],
            cwd=settings.BASE_DIR,
            env={**env, "DJANGO_SETTINGS_MODULE": "backend.settings", "LOG_LEVEL": "WARNING", **extra},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout.strip().splitlines()[-1]) == 0, extra


@pytest.mark.skipif("NUM_PROXIES" in os.environ, reason="checks the default; NUM_PROXIES is set here")
def test_a_forged_forwarded_for_does_not_give_a_fresh_bucket(api_client, rate_3_per_min):
    # The settings as loaded, with no NUM_PROXIES in the environment.
    _spend_bucket(api_client, REMOTE_ADDR="203.0.113.7")

    url, payload = LOGIN
    for forged in ("198.51.100.1", "198.51.100.2, 198.51.100.3"):
        response = api_client.post(url, payload, REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR=forged)
        assert response.status_code == 429, forged


def test_behind_one_proxy_only_the_address_it_appended_counts(api_client, rate_3_per_min, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    _spend_bucket(api_client, HTTP_X_FORWARDED_FOR="203.0.113.7", **proxy)

    url, payload = LOGIN
    # The client prepends forged addresses; the proxy appends the real one last.
    forged = api_client.post(url, payload, HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.7", **proxy)
    assert forged.status_code == 429
    another_client = api_client.post(url, payload, HTTP_X_FORWARDED_FOR="203.0.113.8", **proxy)
    assert another_client.status_code == 401
