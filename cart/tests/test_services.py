"""The services directly: the seams the orders app calls, and guards the HTTP layer hides."""

from unittest import mock

import pytest
from django.db import transaction
from django.db.transaction import TransactionManagementError

from cart import services
from cart.models import Cart, CartItem
from core.exceptions import ApplicationError, NotFound
from products.tests.factories import ProductFactory
from products.tests.stock_helpers import stock_set

from .factories import CartFactory, CartItemFactory

pytestmark = pytest.mark.django_db


def _lines(user) -> dict[int, int]:
    return dict(CartItem.objects.filter(cart__user=user).values_list("product_id", "quantity"))


# --- cart_get_or_create ---------------------------------------------------------------------


def test_get_or_create_survives_losing_the_insert_race(user):
    """The read misses, a concurrent request has meanwhile created the cart: re-read, no error."""
    existing = CartFactory(user=user)
    with transaction.atomic(), mock.patch.object(services, "_cart_find", return_value=None):
        cart = services.cart_get_or_create(user=user)
        # the outer transaction is still usable after the failed insert
        assert Cart.objects.filter(user=user).count() == 1
    assert cart.pk == existing.pk


def test_get_or_create_creates_once(user):
    first = services.cart_get_or_create(user=user)
    second = services.cart_get_or_create(user=user)
    assert first.pk == second.pk
    assert Cart.objects.filter(user=user).count() == 1


# --- guards on direct calls -----------------------------------------------------------------


@pytest.mark.parametrize("quantity", [0, -1, 100, True, "2"])
def test_add_rejects_bad_quantities(user, product, quantity):
    with pytest.raises(ApplicationError) as exc:
        services.cart_item_add(user=user, product_id=product.pk, quantity=quantity)
    assert exc.value.code == "invalid_quantity"
    assert not CartItem.objects.exists()


def test_set_quantity_rejects_out_of_range(user, line_for):
    item = line_for(user, quantity=2)
    with pytest.raises(ApplicationError) as exc:
        services.cart_item_set_quantity(user=user, item_id=item.pk, quantity=100)
    assert exc.value.code == "invalid_quantity"
    assert CartItem.objects.get(pk=item.pk).quantity == 2


def test_step_rejects_unknown_action(user, line_for):
    item = line_for(user, quantity=2)
    with pytest.raises(ApplicationError) as exc:
        services.cart_item_step(user=user, item_id=item.pk, action="double")
    assert exc.value.code == "invalid_action"
    assert CartItem.objects.get(pk=item.pk).quantity == 2


def test_writes_return_the_cart_with_lines_prefetched(user, product, django_assert_num_queries):
    cart = services.cart_item_add(user=user, product_id=product.pk, quantity=2)
    with django_assert_num_queries(0):
        assert [item.product.category.slug for item in cart.items.all()] == [product.category.slug]


# --- cart_lock_for_checkout -----------------------------------------------------------------


@pytest.mark.postgres  # SQLite has no row locks, so Django silently drops FOR UPDATE there
@pytest.mark.django_db(transaction=True)
def test_lock_for_checkout_needs_a_transaction(user, line_for):
    """In autocommit a lock would end with its statement, so Django refuses it."""
    line_for(user)
    with pytest.raises(TransactionManagementError):
        services.cart_lock_for_checkout(user=user)


def test_lock_for_checkout_returns_lines_ordered_by_product(user):
    cart = CartFactory(user=user)
    high, low, mid = ProductFactory(), ProductFactory(), ProductFactory()
    ids = sorted([high.pk, low.pk, mid.pk])
    for product in (high, low, mid):  # insertion order differs from product order
        CartItemFactory(cart=cart, product=product, quantity=2)
    with transaction.atomic():
        locked, items = services.cart_lock_for_checkout(user=user)
    assert locked.pk == cart.pk
    assert [item.product_id for item in items] == ids
    assert all(item.quantity == 2 for item in items)
    assert all(item.product.pk == item.product_id for item in items)


def test_lock_for_checkout_on_a_new_user_gives_an_empty_cart(user):
    with transaction.atomic():
        cart, items = services.cart_lock_for_checkout(user=user)
    assert items == []
    assert Cart.objects.get(user=user).pk == cart.pk


# --- cart_items_delete ----------------------------------------------------------------------


def test_items_delete_removes_only_lines_of_that_cart(user, other_user, line_for):
    a, b = line_for(user), line_for(user)
    theirs = line_for(other_user)
    services.cart_items_delete(cart=a.cart, item_ids=[a.pk, theirs.pk])
    assert not CartItem.objects.filter(pk=a.pk).exists()
    assert CartItem.objects.filter(pk=b.pk).exists()
    assert CartItem.objects.filter(pk=theirs.pk).exists()


# --- cart_restore_lines ---------------------------------------------------------------------
# Lines are `(variant_id, quantity)`; these products each have their one default variant.


def v(product) -> int:
    return product.variants.get().pk


def test_restore_merges_into_existing_lines_and_adds_new_ones(user, line_for):
    existing = line_for(user, product=ProductFactory(stock=20), quantity=2)
    new = ProductFactory(stock=20)
    cart = services.cart_restore_lines(user=user, lines=[(existing.variant_id, 3), (v(new), 4)])
    assert _lines(user) == {existing.product_id: 5, new.pk: 4}
    assert {item.product_id for item in cart.items.all()} == {existing.product_id, new.pk}


def test_restore_caps_each_line_by_stock(user, line_for):
    merged = line_for(user, product=ProductFactory(stock=4), quantity=1)
    fresh = ProductFactory(stock=3)
    services.cart_restore_lines(user=user, lines=[(merged.variant_id, 10), (v(fresh), 7)])
    assert _lines(user) == {merged.product_id: 4, fresh.pk: 3}


def test_restore_caps_each_line_at_99(user, line_for):
    merged = line_for(user, product=ProductFactory(stock=500), quantity=60)
    fresh = ProductFactory(stock=500)
    services.cart_restore_lines(user=user, lines=[(merged.variant_id, 60), (v(fresh), 150)])
    assert _lines(user) == {merged.product_id: 99, fresh.pk: 99}


def test_restore_skips_inactive_deleted_and_out_of_stock_products(user):
    ok = ProductFactory(stock=5)
    inactive = ProductFactory(stock=5, is_active=False)
    empty = ProductFactory(stock=0)
    deleted = ProductFactory(stock=5)
    deleted_id = v(deleted)
    deleted.delete()
    cart = services.cart_restore_lines(
        user=user, lines=[(v(inactive), 1), (v(empty), 2), (deleted_id, 1), (v(ok), 2)]
    )
    assert _lines(user) == {ok.pk: 2}
    assert len(cart.items.all()) == 1


def test_restore_never_lowers_an_existing_line(user, line_for):
    product = ProductFactory(stock=10)
    item = line_for(user, product=product, quantity=6)
    stock_set(product, 2)
    services.cart_restore_lines(user=user, lines=[(v(product), 3)])
    assert CartItem.objects.get(pk=item.pk).quantity == 6


def test_restore_sums_repeated_products_and_ignores_non_positive(user):
    product = ProductFactory(stock=10)
    other = ProductFactory(stock=10)
    services.cart_restore_lines(
        user=user, lines=[(v(product), 2), (v(product), 3), (v(other), 0), (v(other), -4)]
    )
    assert _lines(user) == {product.pk: 5}


def test_restore_with_nothing_to_restore_still_returns_the_cart(user):
    cart = services.cart_restore_lines(user=user, lines=[])
    assert cart.pk == Cart.objects.get(user=user).pk
    assert list(cart.items.all()) == []


def test_restore_inside_an_outer_transaction_rolls_back_with_it(user):
    product = ProductFactory(stock=10)

    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        services.cart_restore_lines(user=user, lines=[(v(product), 2)])
        raise Boom
    assert _lines(user) == {}


def test_item_of_another_user_is_not_found_in_services(user, other_user, line_for):
    theirs = line_for(other_user, quantity=2)
    for call in (
        lambda: services.cart_item_set_quantity(user=user, item_id=theirs.pk, quantity=5),
        lambda: services.cart_item_step(user=user, item_id=theirs.pk, action="increase"),
        lambda: services.cart_item_remove(user=user, item_id=theirs.pk),
        lambda: services.cart_items_bulk_move_to_wishlist(user=user, item_ids=[theirs.pk]),
    ):
        with pytest.raises(NotFound):
            call()
    services.cart_items_bulk_remove(user=user, item_ids=[theirs.pk])
    assert CartItem.objects.get(pk=theirs.pk).quantity == 2
