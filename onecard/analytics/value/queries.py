"""Reads of the lifetime-value page: the last fit, the bands of predicted value and the top members.

Members are those of the viewer's scope (members.queries.visible_members); the fit is merchant-wide (its
parameters describe the whole customer base, not a store's share of it).
"""

from dataclasses import dataclass

from django.db.models import Count, Q, Sum

from onecard.analytics.models import ClvFit, MemberFacts
from onecard.members.queries import visible_members

# Upper bounds (fen, exclusive) of the bands of predicted 12-month value; the last band is open.
BAND_LIMITS = (10000, 50000, 100000, 500000)
TOP_MEMBERS = 50


@dataclass(frozen=True)
class ValueBand:
    """Members whose predicted value lies in [low, high) fen (high None: no upper bound)."""

    low: int
    high: int | None
    members: int
    value: int


def latest_fit(merchant) -> ClvFit | None:
    """The merchant's most recent fit, or None before the first."""
    return ClvFit.objects.filter(merchant=merchant).order_by("-fitted_at", "-id").first()


def visible_predictions(user, merchant):
    """The facts with a predicted value of the members of `merchant` in the user's scope."""
    members = visible_members(user).filter(merchant=merchant)
    return MemberFacts.objects.filter(merchant=merchant, member__in=members, predicted_value__isnull=False)


def value_bands(user, merchant) -> list[ValueBand]:
    """Members and their predicted value per band, in one query."""
    lows = (0, *BAND_LIMITS)
    highs = (*BAND_LIMITS, None)
    conditions = []
    for low, high in zip(lows, highs, strict=True):
        # The first band also holds any negative prediction (there should be none).
        condition = Q() if low == 0 else Q(predicted_value__gte=low)
        if high is not None:
            condition &= Q(predicted_value__lt=high)
        conditions.append(condition)
    aggregates = {}
    for index, condition in enumerate(conditions):
        aggregates[f"n{index}"] = Count("member_id", filter=condition)
        aggregates[f"v{index}"] = Sum("predicted_value", filter=condition)
    totals = visible_predictions(user, merchant).aggregate(**aggregates)
    return [
        ValueBand(low, high, totals[f"n{index}"] or 0, totals[f"v{index}"] or 0)
        for index, (low, high) in enumerate(zip(lows, highs, strict=True))
    ]


def top_members(user, merchant, limit=TOP_MEMBERS):
    """The members in scope with the highest predicted value (ties: the lower member id first), with their
    cost to serve (member.value, analytics.cost) where it has been computed."""
    return list(
        visible_predictions(user, merchant)
        .select_related("member", "member__home_store", "member__value")
        .order_by("-predicted_value", "member_id")[:limit]
    )
