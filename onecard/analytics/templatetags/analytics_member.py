"""Data of the member page's analytics section: read from the member's facts rows, never from the sales."""

from django import template

from onecard.analytics.models import MemberClassSnapshot, MemberFacts, MemberProductFacts

register = template.Library()

FAVOURITES = 5
HISTORY_MONTHS = 12


@register.simple_tag
def member_analytics(member):
    """The member's facts, favourite products, class history and visits per month (None before any fact)."""
    facts = (
        MemberFacts.objects.filter(member=member)
        .select_related("favourite_store", "favourite_category")
        .first()
    )
    if facts is None:
        return None
    products = (
        MemberProductFacts.objects.filter(member=member, quantity__gt=0)
        .select_related("product")
        .order_by("-spend", "-quantity", "product_id")[:FAVOURITES]
    )
    history = MemberClassSnapshot.objects.filter(member=member).order_by("-month")[:HISTORY_MONTHS]
    months = None
    if facts.first_purchase_at and facts.last_purchase_at:
        days = (facts.last_purchase_at - facts.first_purchase_at).days
        months = max(days / 30.44, 1)
    return {
        "facts": facts,
        "products": list(products),
        "history": list(history),
        "visits_per_month": round(facts.visits / months, 1) if months else None,
    }
