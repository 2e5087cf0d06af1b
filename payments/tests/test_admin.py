"""Payment records in the admin: read-only lists and pages, and the inline on the order page."""

import pytest
from django.urls import reverse

from payments.models import Payment, Refund, WebhookEvent
from payments.services import payment_refund_create

from .conftest import confirm_on_stripe, deliver_intent_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_(client, staff_user):
    staff_user.is_superuser = True
    staff_user.save(update_fields=["is_superuser"])
    client.force_login(staff_user)
    return client


@pytest.fixture
def records(api_client, card_order, django_capture_on_commit_callbacks):
    from decimal import Decimal

    order, payment = card_order
    confirm_on_stripe(payment.payment_intent_id)
    with django_capture_on_commit_callbacks(execute=True):
        deliver_intent_event(api_client, payment.payment_intent_id)
    (refund,) = payment_refund_create(order=order, amount=Decimal("5.00"), reason="goodwill").refunds
    return order, payment, refund, WebhookEvent.objects.get()


def test_payment_admin_lists_and_shows_read_only(admin_client_, records):
    order, payment, refund, event = records
    response = admin_client_.get(
        reverse("admin:payments_payment_changelist"), {"q": payment.payment_intent_id}
    )
    assert response.status_code == 200
    assert payment.payment_intent_id in response.content.decode()
    response = admin_client_.get(reverse("admin:payments_payment_change", args=[payment.pk]))
    assert response.status_code == 200
    content = response.content.decode()
    assert "https://dashboard.stripe.com/payments/" + payment.payment_intent_id in content
    assert refund.stripe_refund_id in content
    assert 'name="_save"' not in content  # nothing to save: read-only
    assert admin_client_.get(reverse("admin:payments_payment_add")).status_code == 403
    response = admin_client_.post(
        reverse("admin:payments_payment_delete", args=[payment.pk]), {"post": "yes"}
    )
    assert response.status_code == 403
    assert Payment.objects.filter(pk=payment.pk).exists()


def test_refund_and_webhook_event_admin_pages(admin_client_, records):
    order, payment, refund, event = records
    for name, obj in (("refund", refund), ("webhookevent", event)):
        assert admin_client_.get(reverse(f"admin:payments_{name}_changelist")).status_code == 200
        assert admin_client_.get(reverse(f"admin:payments_{name}_change", args=[obj.pk])).status_code == 200
    assert Refund.objects.count() == 1


def test_order_admin_page_shows_its_payments_inline(admin_client_, records):
    order, payment, refund, event = records
    response = admin_client_.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert response.status_code == 200
    content = response.content.decode()
    # The link only the Payment inline renders (the PI id alone also appears in event notes).
    assert f"https://dashboard.stripe.com/payments/{payment.payment_intent_id}" in content
    assert 'id="payments-group"' in content


def test_non_staff_cannot_see_payments_admin(client, user):
    client.force_login(user)
    response = client.get(reverse("admin:payments_payment_changelist"))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
