"""A broker that cannot take a task never turns a committed write into a 500 (core.background).

These run Celery as production does (not eager), with the broker at a port nobody listens on, or
with a broker transport that cannot be imported (what a deploy without `celery[redis]` had: kombu's
Redis transport failed to import `packaging`). The request answers as usual, the write is saved, and
the failure is logged at ERROR with the task's name.
"""

import logging
import socket

import pytest
from django.core import mail

from addresses.tests.factories import AddressFactory
from backend.celery import app as celery_app
from cart.tests.factories import CartFactory, CartItemFactory
from orders.models import Order
from products.tests.factories import ProductFactory
from users.models import PasswordResetToken
from users.tests.factories import UserFactory


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(
    params=["dead-port", "transport-import-error"],
)
def broken_broker(request):
    """Celery as in production (tasks published, not run inline) with a broker that fails."""
    conf = celery_app.conf
    saved = (conf.task_always_eager, conf.broker_url, celery_app._pool)
    conf.task_always_eager = False
    if request.param == "dead-port":
        conf.broker_url = f"redis://127.0.0.1:{_closed_port()}/0"
    else:
        conf.broker_url = "novacart.no_such_transport:Transport://127.0.0.1/0"
    celery_app._pool = None  # connections are pooled per broker URL: start a fresh pool
    celery_app.amqp._producer_pool = None
    yield request.param
    conf.task_always_eager, conf.broker_url, celery_app._pool = saved
    celery_app.amqp._producer_pool = None


def _not_queued(caplog, task_name: str) -> list[logging.LogRecord]:
    return [
        record
        for record in caplog.records
        if record.getMessage() == "task not queued"
        and record.levelno == logging.ERROR
        and getattr(record, "task", None) == task_name
    ]


@pytest.mark.django_db
def test_cod_order_is_201_and_saved_when_its_email_cannot_be_queued(
    auth_client, user, broken_broker, caplog, django_capture_on_commit_callbacks
):
    product = ProductFactory(price="19.99", stock=5)
    CartItemFactory(cart=CartFactory(user=user), product=product, quantity=2)
    address = AddressFactory(user=user)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = auth_client.post(
            "/api/orders/create/", {"shipping_address_id": address.pk, "payment_method": "cod"}
        )

    assert response.status_code == 201, response.content
    order = Order.objects.get()
    assert order.payment_method == "cod" and order.user == user
    assert response.json()["order"]["id"] == order.pk
    assert user.cart.items.count() == 0  # the cart was emptied: the write committed
    assert callbacks, "the confirmation email is queued on commit"
    assert mail.outbox == []
    [record] = _not_queued(caplog, "core.tasks.send_templated_email")
    assert record.exc_info is not None
    assert "order_confirmation" in record.task_kwargs
    assert user.email not in record.task_kwargs


@pytest.mark.django_db
def test_password_reset_is_200_when_it_cannot_be_queued(
    api_client, broken_broker, caplog, django_capture_on_commit_callbacks
):
    UserFactory(email="ada@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post("/api/password-reset/", {"email": "ada@example.com"})
    assert response.status_code == 200
    assert PasswordResetToken.objects.count() == 0
    [record] = _not_queued(caplog, "users.tasks.password_reset_send_task")
    assert "ada@example.com" not in record.task_kwargs
