from django.contrib.messages import get_messages
from django.test import Client

from orders.models import Order

from .conftest import pay_order, place_order, stock_of

CHANGELIST = "/admin/orders/order/"


def admin_client(staff_user) -> Client:
    staff_user.is_superuser = True
    staff_user.save(update_fields=["is_superuser"])
    client = Client()
    client.force_login(staff_user)
    return client


def run_action(client, action, orders, **extra):
    return client.post(
        CHANGELIST,
        {"action": action, "_selected_action": [o.pk for o in orders], "index": 0, **extra},
        follow=True,
    )


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_changelist_detail_search_and_filters(staff_user, user, product):
    order = place_order(user, [(product, 2)], payment_method="cod")
    client = admin_client(staff_user)

    assert client.get(CHANGELIST).status_code == 200
    found = client.get(CHANGELIST, {"q": order.number})
    assert order.number in found.content.decode()
    assert order.number in client.get(CHANGELIST, {"q": user.email}).content.decode()
    assert (
        client.get(CHANGELIST, {"status__exact": "CONFIRMED", "payment_method__exact": "cod"}).status_code
        == 200
    )

    page = client.get(f"{CHANGELIST}{order.pk}/change/").content.decode()
    assert product.name in page  # the line inline
    assert order.shipping_address["line1"] in page  # the readable address snapshot
    assert "Order placed, cash on delivery." in page  # the events inline


def test_mark_shipped_needs_tracking_then_ships(staff_user, user, product):
    order = place_order(user, [(product, 1)], payment_method="cod")
    client = admin_client(staff_user)

    response = run_action(client, "mark_shipped", [order])
    assert any("tracking number" in m for m in messages_of(response))
    assert Order.objects.get(pk=order.pk).status == "CONFIRMED"

    response = run_action(client, "mark_shipped", [order], tracking_number="TRK1", carrier="DHL")
    fresh = Order.objects.get(pk=order.pk)
    assert (fresh.status, fresh.tracking_number, fresh.carrier) == ("SHIPPED", "TRK1", "DHL")
    assert fresh.events.latest("id").actor == staff_user

    response = run_action(client, "mark_delivered", [order])
    assert Order.objects.get(pk=order.pk).status == "DELIVERED"


def test_action_errors_become_messages(staff_user, user, product):
    pending = place_order(user, [(product, 1)])
    client = admin_client(staff_user)

    response = run_action(client, "mark_delivered", [pending])

    assert response.status_code == 200
    assert any(pending.number in m for m in messages_of(response))
    assert Order.objects.get(pk=pending.pk).status == "PENDING"


def test_refund_action(staff_user, user, product):
    order = pay_order(place_order(user, [(product, 2)]))
    client = admin_client(staff_user)

    run_action(client, "refund", [order])

    assert Order.objects.get(pk=order.pk).status == "REFUNDED"
    assert stock_of(product) == [10]


def test_admin_cannot_add_or_delete_orders(staff_user, user, product):
    order = place_order(user, [(product, 1)], payment_method="cod")
    client = admin_client(staff_user)
    assert client.get(f"{CHANGELIST}add/").status_code == 403
    assert client.get(f"{CHANGELIST}{order.pk}/delete/").status_code == 403


def test_the_order_admin_includes_the_payments_inline(staff_user, user, product):
    """The order admin shows payments with payments' own inline; payments does not patch it."""
    from django.contrib import admin

    from orders.admin import OrderAdmin
    from payments.admin import PaymentInline

    order = place_order(user, [(product, 1)])
    model_admin = admin.site._registry[Order]
    assert isinstance(model_admin, OrderAdmin)
    assert PaymentInline in model_admin.get_inlines(None, order)


def test_staff_who_may_only_view_orders_get_no_actions(staff_user, user, product):
    """Django offers an action to anyone who may view the list unless it names a permission:
    shipping, delivering and refunding need the change permission."""
    from django.contrib.auth.models import Permission

    paid = pay_order(place_order(user, [(product, 1)]))
    staff_user.user_permissions.add(Permission.objects.get(codename="view_order"))
    client = Client()
    client.force_login(staff_user)

    page = client.get(CHANGELIST)
    assert page.status_code == 200
    for action in ("mark_shipped", "mark_delivered", "refund"):
        assert f'value="{action}"' not in page.content.decode()
        run_action(client, action, [paid], tracking_number="TRK1", carrier="DHL")
    assert Order.objects.get(pk=paid.pk).status == "PAID"

    staff_user.user_permissions.add(Permission.objects.get(codename="change_order"))
    staff_user = type(staff_user).objects.get(pk=staff_user.pk)  # permissions are cached per instance
    client.force_login(staff_user)
    assert 'value="refund"' in client.get(CHANGELIST).content.decode()
    run_action(client, "refund", [paid])
    assert Order.objects.get(pk=paid.pk).status == "REFUNDED"
