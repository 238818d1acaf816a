"""Refusals of the checkout services (sales.checkout, sales.returns), each with its own stable code (problem+json `code`).

Statuses as the POS API answers them: 422 for a business refusal of a well-formed request
(CheckoutRefused), 409 for a conflict with what exists (the sale's reference), 400 for a malformed one.
"""

from django.utils.translation import gettext_lazy as _

from onecard.core.errors import BusinessError, Conflict, Refused


class CheckoutError(BusinessError):
    """A checkout or return refused; nothing was taken or given back."""


class CheckoutRefused(CheckoutError, Refused):
    """A checkout or return refused for a business reason (HTTP 422)."""


class UnknownSku(CheckoutRefused):
    code = "unknown_sku"
    default_message = _("No product with this SKU or barcode is sold in this store.")


class EmptyCart(CheckoutError):
    code = "empty_cart"
    default_message = _("The cart has no lines.")


class InvalidTender(CheckoutError):
    code = "invalid_tender"
    default_message = _("A tender is a known payment method with a whole, positive amount.")


class TendersMismatch(CheckoutRefused):
    code = "tenders_mismatch"
    default_message = _("The tenders do not add up to the amount due.")


class CardRequired(CheckoutRefused):
    code = "card_required"
    default_message = _("Paying with stored value or points needs the member's card.")


class PointsOverCap(CheckoutRefused):
    code = "points_over_cap"
    default_message = _("Points may not pay this much of the bill.")


class BusinessRefRequired(CheckoutError):
    code = "business_ref_required"
    default_message = _("A sale needs its reference.")


class CashReceivedShort(CheckoutRefused):
    code = "cash_received_short"
    default_message = _("The cash received is less than the cash tender.")


class BusinessRefTooLong(CheckoutError):
    code = "business_ref_too_long"
    default_message = _("A sale's reference has at most 56 characters.")


class SaleExists(CheckoutError, Conflict):
    code = "sale_exists"
    default_message = _("A sale with this reference already exists.")


class CouponRefused(CheckoutRefused):
    """A coupon the pricing engine could not apply; `code` is the engine's (coupon_min_spend, ...)."""

    code = "coupon_not_applicable"
    default_message = _("This coupon cannot be used on this cart.")


class InvalidReturnLines(CheckoutError):
    code = "invalid_return_lines"
    default_message = _("Name lines of this sale with a whole, positive quantity.")


class OverReturn(CheckoutRefused):
    code = "over_return"
    default_message = _("This return would give back more than was paid.")


class ReasonRequired(CheckoutError):
    code = "return_reason_required"
    default_message = _("Say why the sale is returned.")


COUPON_MESSAGES = {
    "coupon_min_spend": _("The cart is below this coupon's minimum spend."),
    "coupon_not_applicable": _("No item in the cart can take this coupon."),
    "coupon_duplicate": _("This coupon was presented twice."),
}


def coupon_refused(code, coupon_code) -> CouponRefused:
    """The refusal for a coupon the engine put in `Quote.coupons_refused` with `code`."""
    message = COUPON_MESSAGES.get(code, CouponRefused.default_message)
    return CouponRefused(message, code=code, extra={"coupon": coupon_code})
