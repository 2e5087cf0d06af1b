"""Promotion reads: find a code, its status, and what it is worth on a set of lines.

The money itself (eligible subtotal, the discount, its allocation) is `pricing.totals`; this
module only decides whether a promotion applies and which lines are eligible.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from django.db.models import F, Q, QuerySet
from django.utils import timezone

from pricing import totals as pricing
from products.selectors import category_descendant_ids

from .errors import CouponError, CouponExhausted, CouponInvalid, CouponNotApplicable
from .models import Promotion, Redemption

STATUS_ACTIVE = "active"
STATUS_SCHEDULED = "scheduled"
STATUS_ENDED = "ended"
STATUS_EXHAUSTED = "exhausted"
STATUS_INACTIVE = "inactive"


class Line(NamedTuple):
    category_id: int | None
    line_total: Decimal


class Evaluation(NamedTuple):
    discount: pricing.Discount
    error: CouponError | None  # None: the promotion applies

    @property
    def applicable(self) -> bool:
        return self.error is None


def promotion_find(*, code: str) -> Promotion | None:
    code = (code or "").strip()
    if not code:
        return None
    return Promotion.objects.filter(code__iexact=code).first()


def promotion_status(*, promotion: Promotion, now: datetime | None = None) -> str:
    now = now or timezone.now()
    if not promotion.is_active:
        return STATUS_INACTIVE
    if promotion.starts_at > now:
        return STATUS_SCHEDULED
    if promotion.ends_at is not None and promotion.ends_at <= now:
        return STATUS_ENDED
    if promotion.usage_limit is not None and promotion.times_used >= promotion.usage_limit:
        return STATUS_EXHAUSTED
    return STATUS_ACTIVE


def promotion_status_q(status: str, now: datetime | None = None) -> Q:
    """The queryset filter of `promotion_status` (admin's status filter)."""
    now = now or timezone.now()
    live = Q(is_active=True, starts_at__lte=now) & (Q(ends_at__isnull=True) | Q(ends_at__gt=now))
    exhausted = Q(usage_limit__isnull=False, times_used__gte=F("usage_limit"))
    if status == STATUS_ACTIVE:
        return live & ~exhausted
    if status == STATUS_SCHEDULED:
        return Q(is_active=True, starts_at__gt=now)
    if status == STATUS_ENDED:
        return Q(is_active=True, ends_at__lte=now)
    if status == STATUS_EXHAUSTED:
        return live & exhausted
    if status == STATUS_INACTIVE:
        return Q(is_active=False)
    raise ValueError(status)


def promotion_list() -> QuerySet[Promotion]:
    return Promotion.objects.prefetch_related("categories").order_by("-created_at", "-id")


def eligible_category_ids(*, promotion: Promotion) -> set[int] | None:
    """The categories whose products are eligible (those named and every one below them), or
    None when the promotion covers the whole cart."""
    roots = list(promotion.categories.all())
    if not roots:
        return None
    found: set[int] = set()
    for category in roots:
        found.update(category_descendant_ids(category=category))
    return found


def user_redemption_count(*, promotion: Promotion, user_id: int) -> int:
    return Redemption.objects.filter(promotion=promotion, user_id=user_id).count()


def promotion_evaluate(
    *, promotion: Promotion, user_id: int | None, lines: Sequence[Line], now: datetime | None = None
) -> Evaluation:
    """What `promotion` is worth on `lines` for `user`, or why it does not apply.

    In order: `coupon_invalid` (inactive, not started, ended), `coupon_exhausted` (total or
    per-customer limit reached), `coupon_not_applicable` (cart subtotal below `min_subtotal`, or
    no eligible line).
    """
    line_totals = [line.line_total for line in lines]
    none = pricing.no_discount(line_totals)
    status = promotion_status(promotion=promotion, now=now)
    if status == STATUS_INACTIVE:
        return Evaluation(none, CouponInvalid("This coupon is not valid."))
    if status == STATUS_SCHEDULED:
        return Evaluation(none, CouponInvalid("This coupon is not valid yet."))
    if status == STATUS_ENDED:
        return Evaluation(none, CouponInvalid("This coupon has expired."))
    if status == STATUS_EXHAUSTED:
        return Evaluation(none, CouponExhausted("This coupon has been used up."))
    if (
        promotion.usage_limit_per_user is not None
        and user_id is not None
        and user_redemption_count(promotion=promotion, user_id=user_id) >= promotion.usage_limit_per_user
    ):
        return Evaluation(none, CouponExhausted("You have already used this coupon as often as allowed."))
    subtotal = pricing.subtotal(line_totals)
    if promotion.min_subtotal is not None and subtotal < promotion.min_subtotal:
        return Evaluation(
            none,
            CouponNotApplicable(
                f"This coupon needs a subtotal of at least {promotion.min_subtotal}.",
                extra={"min_subtotal": str(promotion.min_subtotal)},
            ),
        )
    categories = eligible_category_ids(promotion=promotion)
    eligible = [categories is None or line.category_id in categories for line in lines]
    if not any(eligible) or not lines:
        return Evaluation(none, CouponNotApplicable("No item in your cart is eligible for this coupon."))
    discount = pricing.discount_for(
        kind=promotion.kind, value=promotion.value, line_totals=line_totals, eligible=eligible
    )
    return Evaluation(discount, None)
