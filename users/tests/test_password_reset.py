import hashlib
import logging
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken
from rest_framework_simplejwt.tokens import RefreshToken

from users.models import PasswordResetToken
from users.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

REQUEST_URL = "/api/password-reset/"
CONFIRM_URL = "/api/password-reset/confirm/"
NEW_PASSWORD = "Fresh-start-2024!"
LINK = re.compile(r"http://shop\.test/reset-password/(?P<uid>[\w-]+)/(?P<token>[\w-]+)")


@pytest.fixture(autouse=True)
def _frontend(settings):
    settings.FRONTEND_URL = "http://shop.test"
    settings.PASSWORD_RESET_TIMEOUT = 3600


@pytest.fixture
def ada(db):
    return UserFactory(username="ada", email="Ada@Example.com", first_name="Ada")


def request_reset(client, capture, email):
    with capture(execute=True):
        return client.post(REQUEST_URL, {"email": email})


def reset_link(client, capture, email="ada@example.com") -> tuple[str, str]:
    """Ask for a reset and return (uid, token) from the email that went out."""
    mail.outbox.clear()
    assert request_reset(client, capture, email).status_code == 200
    assert len(mail.outbox) == 1
    match = LINK.search(mail.outbox[0].body)
    assert match, mail.outbox[0].body
    return match["uid"], match["token"]


# --- request -------------------------------------------------------------------------------
def test_request_emails_a_link_and_stores_only_the_hash(
    api_client, ada, django_capture_on_commit_callbacks, caplog
):
    caplog.set_level(logging.DEBUG)
    before = timezone.now()

    response = request_reset(api_client, django_capture_on_commit_callbacks, "ADA@example.COM")

    assert response.status_code == 200
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["Ada@Example.com"]
    assert "password" in message.subject.lower()
    match = LINK.search(message.body)
    assert match
    assert match["uid"] == urlsafe_base64_encode(force_bytes(ada.pk))
    token = match["token"]
    html = message.alternatives[0][0]
    assert f"http://shop.test/reset-password/{match['uid']}/{token}" in html

    stored = PasswordResetToken.objects.get()
    assert stored.user == ada
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in stored.token_hash
    assert stored.used_at is None
    assert before + timedelta(seconds=3590) < stored.expires_at <= timezone.now() + timedelta(seconds=3600)
    assert token not in caplog.text


def test_request_expiry_follows_the_setting(api_client, ada, django_capture_on_commit_callbacks, settings):
    settings.PASSWORD_RESET_TIMEOUT = 600

    request_reset(api_client, django_capture_on_commit_callbacks, "ada@example.com")

    stored = PasswordResetToken.objects.get()
    assert stored.expires_at - stored.created_at == pytest.approx(
        timedelta(seconds=600), abs=timedelta(seconds=2)
    )
    assert "10 minutes" in mail.outbox[0].body


def test_request_for_unknown_and_inactive_accounts_looks_identical(
    api_client, ada, django_capture_on_commit_callbacks
):
    UserFactory(email="sleeping@example.com", is_active=False)

    known = request_reset(api_client, django_capture_on_commit_callbacks, "ada@example.com")
    unknown = request_reset(api_client, django_capture_on_commit_callbacks, "nobody@example.com")
    inactive = request_reset(api_client, django_capture_on_commit_callbacks, "sleeping@example.com")

    assert known.status_code == unknown.status_code == inactive.status_code == 200
    assert known.content == unknown.content == inactive.content
    assert len(mail.outbox) == 1
    assert PasswordResetToken.objects.count() == 1


@pytest.mark.parametrize("payload", [{}, {"email": "not-an-email"}])
def test_request_with_bad_input_is_400(api_client, payload, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(REQUEST_URL, payload)

    assert response.status_code == 400
    assert "email" in response.data
    assert not mail.outbox


# --- confirm -------------------------------------------------------------------------------
def test_confirm_sets_the_password_and_signs_out_everywhere(
    api_client, ada, django_capture_on_commit_callbacks
):
    refresh_tokens = [RefreshToken.for_user(ada) for _ in range(2)]
    uid, token = reset_link(api_client, django_capture_on_commit_callbacks)

    response = api_client.post(CONFIRM_URL, {"token": token, "uid": uid, "password": NEW_PASSWORD})

    assert response.status_code == 200
    assert "detail" in response.data
    ada.refresh_from_db()
    assert ada.check_password(NEW_PASSWORD)
    assert PasswordResetToken.objects.get().used_at is not None
    assert BlacklistedToken.objects.filter(token__user=ada).count() == 2
    for refresh in refresh_tokens:
        assert api_client.post("/api/token/refresh/", {"refresh": str(refresh)}).status_code == 401
    login = api_client.post("/api/token/", {"email": "ada@example.com", "password": NEW_PASSWORD})
    assert login.status_code == 200


def test_confirm_without_uid_works(api_client, ada, django_capture_on_commit_callbacks):
    _, token = reset_link(api_client, django_capture_on_commit_callbacks)

    response = api_client.post(CONFIRM_URL, {"token": token, "password": NEW_PASSWORD, "uid": ""})

    assert response.status_code == 200
    ada.refresh_from_db()
    assert ada.check_password(NEW_PASSWORD)


def test_a_link_mailed_to_an_address_the_account_no_longer_has_is_void(
    api_client, ada, django_capture_on_commit_callbacks
):
    # The old mailbox may be lost or someone else's: staff changing the email (the admin is the
    # only place it changes) voids the links sent there.
    _, token = reset_link(api_client, django_capture_on_commit_callbacks)
    ada.email = "ada.new@example.com"
    ada.save()

    response = api_client.post(CONFIRM_URL, {"token": token, "password": NEW_PASSWORD})

    assert response.status_code == 400
    assert list(response.data) == ["token"]
    ada.refresh_from_db()
    assert ada.check_password(DEFAULT_PASSWORD)


def test_token_is_single_use(api_client, ada, django_capture_on_commit_callbacks):
    _, token = reset_link(api_client, django_capture_on_commit_callbacks)
    assert api_client.post(CONFIRM_URL, {"token": token, "password": NEW_PASSWORD}).status_code == 200

    again = api_client.post(CONFIRM_URL, {"token": token, "password": "Another-fresh-1"})

    assert again.status_code == 400
    assert list(again.data) == ["token"]
    ada.refresh_from_db()
    assert ada.check_password(NEW_PASSWORD)


def test_expired_token_is_400(api_client, ada, django_capture_on_commit_callbacks):
    _, token = reset_link(api_client, django_capture_on_commit_callbacks)
    PasswordResetToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = api_client.post(CONFIRM_URL, {"token": token, "password": NEW_PASSWORD})

    assert response.status_code == 400
    assert list(response.data) == ["token"]
    ada.refresh_from_db()
    assert ada.check_password(DEFAULT_PASSWORD)
    assert PasswordResetToken.objects.get().used_at is None


def test_unknown_token_is_400(api_client, ada):
    response = api_client.post(CONFIRM_URL, {"token": "made-up", "password": NEW_PASSWORD})

    assert response.status_code == 400
    assert list(response.data) == ["token"]


def test_uid_of_another_user_is_400(api_client, ada, other_user, django_capture_on_commit_callbacks):
    _, token = reset_link(api_client, django_capture_on_commit_callbacks)

    for uid in (urlsafe_base64_encode(force_bytes(other_user.pk)), "!!not-base64!!", "AAAA"):
        response = api_client.post(CONFIRM_URL, {"token": token, "uid": uid, "password": NEW_PASSWORD})
        assert response.status_code == 400, uid
        assert list(response.data) == ["token"]
    assert PasswordResetToken.objects.get().used_at is None
    ada.refresh_from_db()
    assert ada.check_password(DEFAULT_PASSWORD)


def test_token_of_a_deactivated_user_is_400(api_client, ada, django_capture_on_commit_callbacks):
    _, token = reset_link(api_client, django_capture_on_commit_callbacks)
    ada.is_active = False
    ada.save()

    response = api_client.post(CONFIRM_URL, {"token": token, "password": NEW_PASSWORD})

    assert response.status_code == 400
    assert list(response.data) == ["token"]


@pytest.mark.parametrize("password", ["short", "password", "98765432101", "ada@example.com"])
def test_weak_password_is_400_and_keeps_the_token_usable(
    api_client, ada, password, django_capture_on_commit_callbacks
):
    refresh = RefreshToken.for_user(ada)
    _, token = reset_link(api_client, django_capture_on_commit_callbacks)

    response = api_client.post(CONFIRM_URL, {"token": token, "password": password})

    assert response.status_code == 400
    assert list(response.data) == ["password"]
    ada.refresh_from_db()
    assert ada.check_password(DEFAULT_PASSWORD)
    assert PasswordResetToken.objects.get().used_at is None
    assert not BlacklistedToken.objects.exists()
    assert api_client.post("/api/token/refresh/", {"refresh": str(refresh)}).status_code == 200
    # the link still works with a good password
    assert api_client.post(CONFIRM_URL, {"token": token, "password": NEW_PASSWORD}).status_code == 200


def test_confirm_retires_the_users_other_links(api_client, ada, django_capture_on_commit_callbacks):
    _, first = reset_link(api_client, django_capture_on_commit_callbacks)
    _, second = reset_link(api_client, django_capture_on_commit_callbacks)
    assert first != second

    assert api_client.post(CONFIRM_URL, {"token": second, "password": NEW_PASSWORD}).status_code == 200
    response = api_client.post(CONFIRM_URL, {"token": first, "password": "Another-fresh-1"})

    assert response.status_code == 400
    assert list(response.data) == ["token"]
    assert not PasswordResetToken.objects.filter(used_at__isnull=True).exists()


def test_confirm_missing_fields_is_400(api_client):
    response = api_client.post(CONFIRM_URL, {})

    assert response.status_code == 400
    assert set(response.data) == {"token", "password"}


# --- sent from the worker, never inline --------------------------------------------------------
@pytest.fixture
def redis_broker_queue():
    """Celery as in production (tasks published to Redis, not run inline) on a private queue;
    yields a function returning the messages published to it."""
    import base64
    import json
    import os
    import uuid

    import redis
    from django.conf import settings as django_settings

    from backend.celery import app as celery_app

    url = os.environ.get("REDIS_URL") or django_settings.REDIS_URL
    if not url:
        pytest.skip("needs Redis (set REDIS_URL=redis://...)")
    queue = f"novacart-test-{uuid.uuid4().hex[:12]}"
    conf = celery_app.conf
    saved = (conf.task_always_eager, conf.broker_url, conf.task_default_queue, celery_app._pool)
    conf.task_always_eager, conf.broker_url, conf.task_default_queue = False, url, queue
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    client = redis.Redis.from_url(url)

    def published() -> list[dict]:
        # kombu LPUSHes and consumers BRPOP: oldest last.
        messages = [json.loads(raw) for raw in reversed(client.lrange(queue, 0, -1))]
        return [
            {
                "task": m["headers"]["task"],
                "kwargsrepr": m["headers"]["kwargsrepr"],
                "body": json.loads(base64.b64decode(m["body"])),
            }
            for m in messages
        ]

    yield published
    client.delete(queue)
    client.close()
    conf.task_always_eager, conf.broker_url, conf.task_default_queue, celery_app._pool = saved
    celery_app.amqp._producer_pool = None


@pytest.mark.redis
def test_request_only_queues_the_email_address_for_the_worker(
    api_client, ada, redis_broker_queue, django_capture_on_commit_callbacks
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        known = request_reset(api_client, django_capture_on_commit_callbacks, "ada@example.com")
        unknown = request_reset(api_client, django_capture_on_commit_callbacks, "nobody@example.com")

    assert known.status_code == unknown.status_code == 200
    assert known.content == unknown.content
    # No account lookup and no token while serving the request: nothing to tell them apart by,
    # in the answer or in its time.
    touched = " ".join(q["sql"] for q in queries.captured_queries)
    assert "users_user" not in touched and "passwordresettoken" not in touched.lower()
    assert PasswordResetToken.objects.count() == 0
    assert mail.outbox == []

    messages = redis_broker_queue()
    assert [m["task"] for m in messages] == ["users.tasks.password_reset_send_task"] * 2
    assert [m["body"][1] for m in messages] == [{"email": "ada@example.com"}, {"email": "nobody@example.com"}]
    assert all("example.com" not in m["kwargsrepr"] for m in messages)


def test_the_worker_task_sends_a_working_link(api_client, ada, django_capture_on_commit_callbacks):
    from users.tasks import password_reset_send_task

    with django_capture_on_commit_callbacks(execute=True):
        password_reset_send_task.apply(kwargs={"email": "ada@example.com"})
        password_reset_send_task.apply(kwargs={"email": "nobody@example.com"})
    assert len(mail.outbox) == 1
    match = LINK.search(mail.outbox[0].body)
    response = api_client.post(
        CONFIRM_URL, {"uid": match["uid"], "token": match["token"], "password": NEW_PASSWORD}
    )
    assert response.status_code == 200
    ada.refresh_from_db()
    assert ada.check_password(NEW_PASSWORD)
