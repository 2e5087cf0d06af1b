"""The fake Stripe server is reachable through the real SDK (a sanity check for every Stripe test)."""

from payments import gateway


def test_payment_intent_round_trip_on_localstripe(stripe_server):
    intent = gateway.create_payment_intent(
        amount=5999, currency="usd", metadata={"order_id": "1"}, idempotency_key="sanity-1"
    )
    assert intent.amount == 5999
    assert intent.client_secret
    fetched = gateway.retrieve_payment_intent(intent.id)
    assert fetched.id == intent.id
    assert fetched.metadata["order_id"] == "1"


def test_unreachable_stripe_raises_provider_error(closed_port_stripe):
    import pytest

    from core.exceptions import PaymentProviderError

    with pytest.raises(PaymentProviderError):
        gateway.create_payment_intent(amount=100, currency="usd", metadata={}, idempotency_key="x")
