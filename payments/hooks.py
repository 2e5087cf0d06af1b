"""What a payment event means for its order is decided by the orders app; payments calls it here.

`payments` never imports `orders` (dependencies run orders -> payments -> core). The orders app
registers its handlers at start-up (`OrdersConfig.ready`) and the payment services call them by
name, inside their own transaction:

- `lock_order(*, order_id)`: lock and return the order row (always before its payment rows);
- `payable_order(*, order_id, user, amount)`: lock the caller's order and refuse it unless it
  may be paid by card now (`amount`: the client's idea of the total in minor units, or None);
- `payment_succeeded(*, order, payment, received_minor, currency, metadata_order_id)`: settle a
  succeeded PaymentIntent (pay the order, or refund the money back, or record a mismatch);
- `payment_failed(*, order, payment, reason)`: a declined attempt;
- `refunds_synced(*, order, payment, fully_refunded, refunded_more, amount_refunded_minor,
  amount_captured_minor, currency)`: Stripe's refund totals were recorded on the payment.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ImproperlyConfigured

HANDLER_NAMES = frozenset(
    {"lock_order", "payable_order", "payment_succeeded", "payment_failed", "refunds_synced"}
)

_handlers: dict[str, Callable[..., Any]] = {}


def register(**handlers: Callable[..., Any]) -> None:
    unknown = set(handlers) - HANDLER_NAMES
    if unknown:
        raise ImproperlyConfigured(f"Unknown payment order handlers: {sorted(unknown)}")
    _handlers.update(handlers)


def order_handler(name: str) -> Callable[..., Any]:
    try:
        return _handlers[name]
    except KeyError:
        raise ImproperlyConfigured(
            f"No order handler {name!r} is registered (the orders app registers them when it loads)."
        )
