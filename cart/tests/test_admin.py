import pytest
from django.urls import reverse

from cart.models import CartItem

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_(client, django_user_model):
    admin = django_user_model.objects.create_superuser(
        username="boss", email="boss@example.com", password="x-Admin-pass-1"
    )
    client.force_login(admin)
    return client


def test_changelist_shows_carts_with_counts(admin_client_, user, line_for):
    line_for(user, quantity=3)
    line_for(user, quantity=2)
    response = admin_client_.get(reverse("admin:cart_cart_changelist"), {"q": user.email})
    assert response.status_code == 200
    assert user.email in response.content.decode()
    cart = response.context["cl"].result_list[0]
    assert (cart._lines, cart._units) == (2, 5)


def test_change_page_lists_lines_read_only(admin_client_, user, line_for):
    item = line_for(user, quantity=3)
    response = admin_client_.get(reverse("admin:cart_cart_change", args=[item.cart_id]))
    assert response.status_code == 200
    html = response.content.decode()
    assert item.product.name in html
    assert "59.97" in html  # 3 x 19.99, the factory price
    assert 'name="items-0-quantity"' not in html  # quantities are not editable


def test_staff_may_delete_a_line_but_not_add_carts(admin_client_, user, line_for):
    item = line_for(user)
    assert admin_client_.get(reverse("admin:cart_cart_add")).status_code == 403
    url = reverse("admin:cart_cart_change", args=[item.cart_id])
    form = {
        "items-TOTAL_FORMS": "1",
        "items-INITIAL_FORMS": "1",
        "items-MIN_NUM_FORMS": "0",
        "items-MAX_NUM_FORMS": "1000",
        "items-0-id": str(item.pk),
        "items-0-cart": str(item.cart_id),
        "items-0-DELETE": "on",
    }
    response = admin_client_.post(url, form)
    assert response.status_code == 302
    assert not CartItem.objects.filter(pk=item.pk).exists()
