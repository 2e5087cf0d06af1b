"""The coupon errors: 400 when a code is applied to the cart, 409 (same codes) at checkout."""

from rest_framework import status

from core.exceptions import ApplicationError


class CouponError(ApplicationError):
    status_code = status.HTTP_400_BAD_REQUEST

    def at_checkout(self) -> "CouponError":
        """The same error as a checkout answers it: 409 with the coupon's code."""
        return type(self)(self.message, status_code=status.HTTP_409_CONFLICT, extra=self.extra)


class CouponInvalid(CouponError):
    default_code = "coupon_invalid"
    default_message = "This coupon is not valid."


class CouponNotApplicable(CouponError):
    default_code = "coupon_not_applicable"
    default_message = "This coupon does not apply to your cart."


class CouponExhausted(CouponError):
    default_code = "coupon_exhausted"
    default_message = "This coupon has been used up."
