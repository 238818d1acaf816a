"""`{{ code|coupon_code }}`: a coupon code in the one form people read, "4VFR-R67T-XSK3-WGKT".

Stored codes have no dashes; issue, till, receipt and the member page all show them grouped, and every
field that takes a code accepts either form (coupon_codes.normalize_code).
"""

from django import template

from ..coupon_codes import display_code, is_well_formed, normalize_code

register = template.Library()


@register.filter
def coupon_code(value) -> str:
    """The code in groups of four; anything that is not one of our codes is shown as it is."""
    code = normalize_code(value)
    return display_code(code) if is_well_formed(code) else str(value or "")
