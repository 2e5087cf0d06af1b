"""The line-status machine: one table (`ITEM_TRANSITIONS`), one function (`_items_move`)."""

import ast
import itertools
from pathlib import Path

import pytest

from core.exceptions import InvalidTransition
from orders import services
from orders.models import ItemStatus, OrderItem

from .conftest import place_order

ALLOWED = {
    ("ACTIVE", "CANCELLED"),
    ("ACTIVE", "REFUND_REQUESTED"),
    ("ACTIVE", "REFUNDED"),
    ("REFUND_REQUESTED", "REFUNDED"),
}
ROOT = Path(__file__).resolve().parents[2]


def test_the_line_table_is_exactly_the_allowed_moves():
    table = {(src, dst) for src, targets in services.ITEM_TRANSITIONS.items() for dst in targets}
    assert table == ALLOWED
    assert set(services.ITEM_TRANSITIONS) == set(ItemStatus.values)


@pytest.mark.parametrize(
    ("src", "dst"),
    [pair for pair in itertools.product(ItemStatus.values, ItemStatus.values) if pair not in ALLOWED],
)
def test_every_forbidden_line_move_is_refused_and_writes_nothing(user, product, src, dst):
    order = place_order(user, [(product, 1)], payment_method="cod")
    OrderItem.objects.filter(order=order).update(status=src)
    item = OrderItem.objects.get(order=order)

    with pytest.raises(InvalidTransition):
        services._items_move([item], dst)

    stored = OrderItem.objects.get(pk=item.pk)
    assert (stored.status, stored.cancelled_at, stored.refunded_amount) == (src, None, 0)


def test_a_line_leaving_active_is_stamped_and_a_refunded_one_records_its_total(user, product):
    order = place_order(user, [(product, 2)], payment_method="cod")
    item = OrderItem.objects.get(order=order)

    services._items_move([item], ItemStatus.REFUNDED, reason="why")

    stored = OrderItem.objects.get(pk=item.pk)
    assert stored.status == ItemStatus.REFUNDED and stored.cancelled_at is not None
    assert stored.cancel_reason == "why" and stored.refunded_amount == stored.line_total


def _line_status_writes(path: Path) -> list[int]:
    """Lines of `path` that assign `<x>.status = ItemStatus...` or pass `status=ItemStatus...` to
    an update: a line status changed outside `_items_move`."""
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Attribute) and t.attr == "status" for t in node.targets)
            and "ItemStatus" in ast.unparse(node.value)
        ):
            found.append(node.lineno)
        is_update = isinstance(node, ast.Call) and getattr(node.func, "attr", "") in ("update", "bulk_update")
        keywords = node.keywords if is_update else []
        if any(k.arg == "status" and "ItemStatus" in ast.unparse(k.value) for k in keywords):
            found.append(node.lineno)
    return found


def test_no_code_outside_the_one_function_writes_a_line_status():
    offenders = {}
    for path in ROOT.glob("*/**/*.py"):
        if ".venv" in path.parts or "tests" in path.parts or "migrations" in path.parts:
            continue
        lines = _line_status_writes(path)
        if lines:
            offenders[str(path.relative_to(ROOT))] = lines
    assert offenders == {}
