from django.core.management.base import BaseCommand

from orders.services import order_expire_pending


class Command(BaseCommand):
    help = "Cancel every unpaid card order past its expires_at (stock released, lines back to the cart)."

    def handle(self, *args, **options):
        count = order_expire_pending()
        self.stdout.write(f"Expired {count} pending order(s).")
