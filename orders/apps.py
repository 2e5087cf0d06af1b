from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self) -> None:
        # What a payment event does to an order is decided here; payments calls these handlers.
        from payments import hooks

        from .payment_outcomes import HANDLERS

        hooks.register(**HANDLERS)
