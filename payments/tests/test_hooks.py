"""payments.hooks: the order handlers payments calls are registered by the orders app."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from payments import hooks


def test_the_orders_app_registers_every_handler_payments_calls():
    from orders.payment_outcomes import HANDLERS

    assert set(HANDLERS) == hooks.HANDLER_NAMES
    for name, handler in HANDLERS.items():
        assert hooks.order_handler(name) is handler


def test_an_unknown_handler_name_is_refused():
    with pytest.raises(ImproperlyConfigured):
        hooks.register(pay_twice=lambda **kwargs: None)


def test_a_missing_handler_is_a_configuration_error(monkeypatch):
    monkeypatch.setattr(hooks, "_handlers", {})
    with pytest.raises(ImproperlyConfigured, match="lock_order"):
        hooks.order_handler("lock_order")
