"""Tier figures from the ledger's business records: the `metrics_provider` that tiers.evaluate_tiers asks.

`LedgerMetrics(today)(member_ids, metric, since)` → {member_id: value} for the days from `since`
(inclusive) to `today` (inclusive), both Asia/Shanghai calendar days. One aggregate query per
(metric, window) and chunk of members, grouped by member: set-based, the same SQL on SQLite and
PostgreSQL, never a query per member. Members with nothing in the window are left out (tiers.py
counts them as 0).

What each metric counts (decided here; tiers.py only compares and formats):

- spend (fen): charges and hold captures made in the window, minus what has been refunded of
  them since (their `refunded_total`). A refund of an old sale does not lower this year's spend;
  a refunded sale of this year does not count. What a tier discount took off is not spend.
- top-ups (fen): principal topped up in the window minus the principal paid back of those top-ups
  (refund_topup). Bonus value (充500送50's ¥50) is not a top-up.
- points earned: points of lots earned in the window (source "earn": purchases, rebates, sign-in
  rewards...) minus what refunds took back of those lots (PointsReversal.requested, including any
  shortfall: the earning itself was undone). Manual adjustments (source "adjust") are excluded: a
  correction by staff is not earning; staff who want a member in a tier use set_member_tier,
  which records who and why.
- visits: distinct days (Asia/Shanghai) with a charge, a capture or a top-up, refunded or not.

Sales paid outside the card (cash, WeChat) that only earn points do not count as spend: a points
lot does not record the amount that earned it. They still count through "points earned".

Each figure belongs to the member who holds the card now (`Card.member`), so the cards a member
merge moves to the survivor bring their history with them, and a replaced card's history stays
with its member.
"""

import datetime
from zoneinfo import ZoneInfo

from django.db.models import Count, F, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce, TruncDate

from onecard.loyalty.cards.choices import TierMetric
from onecard.loyalty.models import PointsLot, PointsReversal
from onecard.loyalty.models.points import LotSource
from onecard.loyalty.models.stored_value import CardTransaction, CardTxKind
from onecard.loyalty.tiers.services import evaluate_tiers

SHANGHAI = ZoneInfo("Asia/Shanghai")
SALE_KINDS = (CardTxKind.CHARGE, CardTxKind.CAPTURE)
VISIT_KINDS = (CardTxKind.CHARGE, CardTxKind.CAPTURE, CardTxKind.TOPUP)


def window_bounds(since: datetime.date, until: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """[start, end): midnight of `since` to midnight after `until`, Asia/Shanghai, as aware datetimes."""
    start = datetime.datetime.combine(since, datetime.time.min, tzinfo=SHANGHAI)
    end = datetime.datetime.combine(until + datetime.timedelta(days=1), datetime.time.min, tzinfo=SHANGHAI)
    return start, end


def _per_member(records, value) -> dict:
    """{member: value} of `records` (rows with a card) grouped by the card's holder; zeros left out."""
    rows = records.values(holder=F("card__member_id")).annotate(value=value).order_by()
    return {row["holder"]: row["value"] for row in rows if row["holder"] is not None and row["value"]}


def _card_transactions(member_ids, start, end, **kinds):
    """The members' card transactions of `kinds` made in [start, end)."""
    return CardTransaction.objects.filter(
        **kinds, card__member_id__in=member_ids, created_at__gte=start, created_at__lt=end
    )


def spend(member_ids, start, end) -> dict:
    """{member: fen} charged or captured in [start, end), net of refunds of those sales."""
    sales = _card_transactions(member_ids, start, end, kind__in=SALE_KINDS)
    return _per_member(sales, Sum(F("amount") - F("refunded_total")))


def topups(member_ids, start, end) -> dict:
    """{member: fen} of principal topped up in [start, end), net of principal refunded of those top-ups."""
    topped_up = _card_transactions(member_ids, start, end, kind=CardTxKind.TOPUP)
    return _per_member(topped_up, Sum(F("principal") - F("refunded_total")))


def points_earned(member_ids, start, end) -> dict:
    """{member: points} of lots earned in [start, end), net of what refunds took back of them."""
    taken_back = (
        PointsReversal.objects.filter(lot=OuterRef("pk"))
        .values("lot")
        .annotate(n=Sum("requested"))
        .values("n")
    )
    earned = PointsLot.objects.filter(
        source=LotSource.EARN, card__member_id__in=member_ids, earned_at__gte=start, earned_at__lt=end
    )
    return _per_member(earned, Sum(F("original") - Coalesce(Subquery(taken_back), 0)))


def visits(member_ids, start, end) -> dict:
    """{member: days} with a charge, capture or top-up in [start, end), days counted in Asia/Shanghai."""
    visited = _card_transactions(member_ids, start, end, kind__in=VISIT_KINDS)
    return _per_member(visited, Count(TruncDate("created_at", tzinfo=SHANGHAI), distinct=True))


METRICS = {
    TierMetric.SPEND: spend,
    TierMetric.TOPUP: topups,
    TierMetric.POINTS_EARNED: points_earned,
    TierMetric.VISITS: visits,
}


class LedgerMetrics:
    """The metrics_provider of tiers.evaluate_tiers, reading the card transactions and points lots up to `today`."""

    def __init__(self, today: datetime.date):
        self.today = today

    def __call__(self, member_ids, metric, since) -> dict:
        start, end = window_bounds(since, self.today)
        return METRICS[metric](list(member_ids), start, end)


def evaluate_merchant(merchant, today: datetime.date):
    """Run the tier evaluation of `merchant` for `today` with figures from the ledger (tiers.TierEvaluation)."""
    return evaluate_tiers(merchant, LedgerMetrics(today), today)
