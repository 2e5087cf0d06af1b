import pytest
from rest_framework.throttling import AnonRateThrottle
from rest_framework_simplejwt.tokens import RefreshToken

from users.throttling import AuthRateThrottle, UserRateThrottle

pytestmark = pytest.mark.django_db

AUTH_ENDPOINTS = [
    ("/api/token/", {"email": "nobody@example.com", "password": "wrong"}),
    ("/api/register/", {"email": "not-an-email", "password": "x"}),
    ("/api/password-reset/", {"email": "nobody@example.com"}),
    ("/api/password-reset/confirm/", {"token": "nope", "password": "Whatever-123"}),
]


@pytest.fixture
def rate_3_per_min(monkeypatch):
    # DRF binds THROTTLE_RATES when the class is defined, so the rate is set on the class.
    monkeypatch.setattr(AuthRateThrottle, "rate", "3/min", raising=False)


def assert_throttled(response):
    assert response.status_code == 429
    assert response.data["code"] == "throttled"
    assert set(response.data) == {"detail", "code"}
    assert int(response.headers["Retry-After"]) > 0


@pytest.mark.parametrize("url, payload", AUTH_ENDPOINTS, ids=[url for url, _ in AUTH_ENDPOINTS])
def test_each_auth_endpoint_is_throttled(api_client, rate_3_per_min, url, payload):
    statuses = [api_client.post(url, payload).status_code for _ in range(3)]
    assert 429 not in statuses

    assert_throttled(api_client.post(url, payload))


def test_default_rate_is_ten_per_minute(api_client):
    url, payload = AUTH_ENDPOINTS[0]

    statuses = [api_client.post(url, payload).status_code for _ in range(10)]

    assert statuses == [401] * 10
    assert_throttled(api_client.post(url, payload))


def test_one_bucket_per_ip_across_the_auth_endpoints(api_client, rate_3_per_min):
    for url, payload in AUTH_ENDPOINTS[:3]:
        assert api_client.post(url, payload).status_code != 429

    url, payload = AUTH_ENDPOINTS[3]
    assert_throttled(api_client.post(url, payload))


def test_another_ip_has_its_own_bucket(api_client, rate_3_per_min):
    url, payload = AUTH_ENDPOINTS[0]
    for _ in range(3):
        api_client.post(url, payload, REMOTE_ADDR="10.0.0.1")
    assert_throttled(api_client.post(url, payload, REMOTE_ADDR="10.0.0.1"))

    response = api_client.post(url, payload, REMOTE_ADDR="10.0.0.2")

    assert response.status_code == 401


def test_successful_logins_count_too(api_client, user, rate_3_per_min):
    credentials = {"username": user.username, "password": "Sup3r-secret-pass!"}
    for _ in range(3):
        assert api_client.post("/api/token/", credentials).status_code == 200

    assert_throttled(api_client.post("/api/token/", credentials))


def test_token_refresh_and_me_are_not_auth_throttled(api_client, auth_client, user, rate_3_per_min):
    url, payload = AUTH_ENDPOINTS[0]
    for _ in range(4):
        api_client.post(url, payload)

    refresh = str(RefreshToken.for_user(user))
    response = api_client.post("/api/token/refresh/", {"refresh": refresh})
    assert response.status_code == 200
    assert auth_client.get("/api/me/").status_code == 200


def test_throttling_switched_off_disables_the_auth_throttle(api_client, settings, rate_3_per_min):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_CLASSES": []}
    url, payload = AUTH_ENDPOINTS[0]

    statuses = [api_client.post(url, payload).status_code for _ in range(5)]

    assert statuses == [401] * 5


@pytest.fixture
def anon_3_user_2_per_min(monkeypatch):
    monkeypatch.setattr(AnonRateThrottle, "rate", "3/min", raising=False)
    monkeypatch.setattr(UserRateThrottle, "rate", "2/min", raising=False)


def throttle_keys() -> set[str]:
    """The throttle counters in the (per-test, emptied) cache, without their key prefix."""
    from django.core.cache import cache

    if hasattr(cache, "keys"):  # django-redis
        return set(cache.keys("throttle_*"))
    return {key.split(":", 2)[-1] for key in cache._cache if "throttle_" in key}  # locmem


def test_an_anonymous_caller_has_the_anonymous_rate_and_one_counter(api_client, anon_3_user_2_per_min):
    for _ in range(3):  # more than the user rate: the user throttle does not count anonymous callers
        assert api_client.get("/api/products/").status_code == 200
    assert_throttled(api_client.get("/api/products/"))
    assert throttle_keys() == {"throttle_anon_127.0.0.1"}


def test_a_signed_in_caller_has_the_user_rate_and_one_counter(auth_client, user, anon_3_user_2_per_min):
    for _ in range(2):
        assert auth_client.get("/api/me/").status_code == 200
    assert_throttled(auth_client.get("/api/me/"))
    assert throttle_keys() == {f"throttle_user_{user.pk}"}
