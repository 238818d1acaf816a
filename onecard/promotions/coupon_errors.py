"""Refusals of the coupon services, each with a stable problem+json `code` the cashier screen can show."""

from django.utils.translation import gettext_lazy as _

from onecard.core.errors import NotFound, Refused


class CouponError(Refused):
    """A refusal of the coupon services (HTTP 422)."""


class CouponCodeInvalid(CouponError):
    code = "coupon_code_invalid"
    default_message = _("This is not a valid coupon code; check it for typing errors.")


class CouponNotFound(NotFound):
    code = "coupon_not_found"
    default_message = _("No coupon has this code.")


class CouponExpired(CouponError):
    code = "coupon_expired"
    default_message = _("This coupon has expired.")


class CouponNotYetValid(CouponError):
    code = "coupon_not_yet_valid"
    default_message = _("This coupon is not valid yet.")


class CouponUsed(CouponError):
    code = "coupon_used"
    default_message = _("This coupon has already been used.")


class CouponVoid(CouponError):
    code = "coupon_void"
    default_message = _("This coupon was cancelled.")


class CouponNotValidHere(CouponError):
    code = "coupon_not_valid_here"
    default_message = _("This coupon is not valid in this store.")


class CouponNotYours(CouponError):
    code = "coupon_not_yours"
    default_message = _("This coupon belongs to another member.")


class CouponLimitReached(CouponError):
    code = "coupon_limit_reached"
    default_message = _("The member already has as many of these coupons as allowed.")


class CouponNotRedeemed(CouponError):
    code = "coupon_not_redeemed"
    default_message = _("This coupon was not used by this sale.")


class CouponTemplateInactive(CouponError):
    code = "coupon_template_inactive"
    default_message = _("This coupon template is switched off; no coupons can be issued from it.")


class CouponTemplateEnded(CouponError):
    code = "coupon_template_ended"
    default_message = _("This coupon template's validity has ended; no coupons can be issued from it.")


class CouponMemberOutOfReach(CouponError):
    code = "coupon_member_out_of_reach"
    default_message = _("This member does not belong to a store of the template's part of the organisation.")


class CouponMemberNotFound(NotFound):
    code = "coupon_member_not_found"
    default_message = _("No member has this phone or member number.")
