import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.cache import cache, caches
from django.test import RequestFactory
from rest_framework_simplejwt.tokens import RefreshToken

from users import throttling
from users.throttling import AnonRateThrottle, AuthRateThrottle, UserRateThrottle

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


# --- the shared window in Redis: one atomic round trip (users.throttling.SharedWindowThrottle) ----


def request_from(ip: str):
    """A login attempt from `ip`, as the auth throttle reads it."""
    return RequestFactory().post("/api/token/", REMOTE_ADDR=ip)


@pytest.mark.redis
def test_a_burst_from_one_client_on_many_threads_gets_exactly_the_limit(rate_3_per_min):
    # DRF's read-then-write lets simultaneous requests see the same count; the script cannot.
    barrier = threading.Barrier(12)

    def attempt(_):
        throttle = AuthRateThrottle()
        barrier.wait()
        return throttle.allow_request(request_from("10.9.8.7"), None)

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(attempt, range(12)))
    assert results.count(True) == 3


@pytest.mark.redis
def test_the_wait_is_until_the_oldest_request_leaves_the_window(rate_3_per_min, monkeypatch):
    clock = iter([1000.0, 1010.0, 1020.0, 1030.0, 1061.0])
    monkeypatch.setattr(AuthRateThrottle, "timer", lambda self: next(clock))
    request = request_from("10.9.8.6")
    for _ in range(3):
        assert AuthRateThrottle().allow_request(request, None)
    refused = AuthRateThrottle()
    assert not refused.allow_request(request, None)  # at 1030
    assert refused.wait() == 30.0  # the request of 1000 leaves the 60 s window at 1060
    assert AuthRateThrottle().allow_request(request, None)  # at 1061: one slot free again


@pytest.mark.redis
def test_redis_unreachable_lets_requests_through_unless_the_cache_raises(monkeypatch, rate_3_per_min):
    from redis.exceptions import ConnectionError as RedisConnectionError

    class Unreachable:
        def evalsha(self, *args):
            raise RedisConnectionError("connection refused")

    monkeypatch.setattr(throttling, "_redis_client", lambda: Unreachable())
    for _ in range(5):
        assert AuthRateThrottle().allow_request(request_from("10.9.8.5"), None)
    # On the cache itself, not the `cache` proxy: pytest 9 undoes a patch on an object whose own
    # __dict__ lacked the name by deleting it, which the proxy passed on, leaving the shared cache
    # without `_ignore_exceptions` for every later test.
    monkeypatch.setattr(caches["default"], "_ignore_exceptions", False)
    with pytest.raises(RedisConnectionError):
        AuthRateThrottle().allow_request(request_from("10.9.8.5"), None)


@pytest.mark.redis
def test_a_rate_of_zero_refuses_every_request_for_a_whole_window(monkeypatch):
    monkeypatch.setattr(AuthRateThrottle, "rate", "0/min", raising=False)
    throttle = AuthRateThrottle()
    assert not throttle.allow_request(request_from("10.9.8.4"), None)
    assert throttle.wait() == 60.0
