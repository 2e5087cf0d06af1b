"""Promotion writes: staff create/update/delete, and the redemption an order takes (and gives
back when an unpaid order is cancelled or expires).

Concurrency. `promotion_redeem` runs inside the order's transaction. Its first statement is a
conditional `UPDATE ... SET times_used = times_used + 1 WHERE times_used < usage_limit`: the row
lock it takes serialises every redemption of that promotion until the order commits, and
PostgreSQL re-checks the condition against the latest committed row, so `usage_limit` is never
exceeded. The per-customer count is read after that lock is held (a fresh snapshot under READ
COMMITTED), so it sees every committed redemption and none can be in flight for that promotion:
`usage_limit_per_user` holds too. A refusal raises, and the order's transaction rolls back.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q

from .errors import CouponExhausted
from .models import Promotion, Redemption

PROMOTION_FIELDS = (
    "code",
    "description",
    "kind",
    "value",
    "min_subtotal",
    "starts_at",
    "ends_at",
    "usage_limit",
    "usage_limit_per_user",
    "is_active",
)


def _save(promotion: Promotion, categories) -> Promotion:
    try:
        with transaction.atomic():
            promotion.save()
    except IntegrityError as exc:
        if Promotion.objects.filter(code__iexact=promotion.code).exclude(pk=promotion.pk).exists():
            raise ValidationError({"code": ["A promotion with this code already exists."]}) from exc
        raise
    if categories is not None:
        promotion.categories.set(categories)
    return promotion


@transaction.atomic
def promotion_create(*, data: dict[str, Any]) -> Promotion:
    categories = data.pop("categories", None)
    promotion = Promotion(**{k: v for k, v in data.items() if k in PROMOTION_FIELDS})
    return _save(promotion, categories)


@transaction.atomic
def promotion_update(*, promotion: Promotion, data: dict[str, Any]) -> Promotion:
    categories = data.pop("categories", None)
    for name, value in data.items():
        if name in PROMOTION_FIELDS:
            setattr(promotion, name, value)
    return _save(promotion, categories)


@transaction.atomic
def promotion_delete(*, promotion: Promotion) -> bool:
    """Delete, or deactivate when any order used it; returns True when deleted."""
    if promotion.times_used or Redemption.objects.filter(promotion=promotion).exists():
        promotion.is_active = False
        promotion.save(update_fields=["is_active"])
        return False
    promotion.delete()
    return True


def promotion_redeem(*, promotion_id: int, user, order, amount: Decimal) -> Redemption:
    """Take one use of the promotion for `order` (call inside the order's transaction).
    409 `coupon_exhausted` when the total or the customer's limit is reached."""
    taken = Promotion.objects.filter(
        Q(usage_limit__isnull=True) | Q(times_used__lt=F("usage_limit")), pk=promotion_id
    ).update(times_used=F("times_used") + 1)
    if not taken:
        raise CouponExhausted("This coupon has been used up.").at_checkout()
    promotion = Promotion.objects.get(pk=promotion_id)
    if promotion.usage_limit_per_user is not None:
        used = Redemption.objects.filter(promotion_id=promotion_id, user=user).count()
        if used >= promotion.usage_limit_per_user:
            raise CouponExhausted("You have already used this coupon as often as allowed.").at_checkout()
    return Redemption.objects.create(promotion_id=promotion_id, order=order, user=user, amount=amount)


def promotion_redemption_amount_set(*, order_id: int, amount: Decimal) -> None:
    """The order's discount changed (an unpaid line cancelled): its redemption records the new one."""
    Redemption.objects.filter(order_id=order_id).update(amount=amount)


def promotion_release(*, order_id: int) -> int | None:
    """Give back the redemption of an order (unpaid order cancelled or expired); returns the
    promotion's id, or None when the order had none."""
    redemption = Redemption.objects.filter(order_id=order_id).first()
    if redemption is None:
        return None
    Promotion.objects.filter(pk=redemption.promotion_id, times_used__gt=0).update(
        times_used=F("times_used") - 1
    )
    redemption.delete()
    return redemption.promotion_id
