"""{% shift_badge %}: the till's link to the cashier's shift (open since…, or "open a shift")."""

from django import template

from onecard.pos.shifts import open_shift_of

register = template.Library()


@register.inclusion_tag("pos/shifts/_till_badge.html", takes_context=True)
def shift_badge(context):
    """The signed-in cashier's open shift, for the till's page head."""
    request = context.get("request")
    user = getattr(request, "user", None)
    return {"shift": open_shift_of(user) if user is not None else None}
