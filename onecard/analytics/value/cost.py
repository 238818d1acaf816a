"""Cost to serve per member: what a merchant gave each member, next to what they spent (MemberValue).

Per member of the merchant (an alliance partner's member who bought here is left to theirs), in fen, over
their whole history, from six grouped queries (never one per member):
- historic_value: net spend, Σ (total_due − returned_due) of their sales;
- cost_bonus: bonus value granted by top-ups (CardTransaction kind topup, `bonus`) and by rebates on
  charges and captures (`rebate_bonus`), less the bonus withdrawn by refunds (`bonus` of a top-up's refund,
  `rebate_bonus` taken back by a charge's refund);
- cost_points: points earned (lots of source "earn", less earnings reversed by refunds) valued at their
  cash value when redeemed (loyalty.points.rules.points_to_cash: the merchant's points_per_yuan, rounded
  down per member);
- cost_coupons: the face value of the cash coupons the member redeemed (a discount or gift coupon has no
  fixed face value; what it took off is in the sale's discount);
- cost_discounts: Σ discount_total of their sales (promotions, tier prices and coupons together).
cost_coupons is therefore a part of cost_discounts, shown apart; MemberValue.cost_to_serve does not add it twice.
"""

from collections import defaultdict

from django.db import transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from onecard.analytics.models import MemberValue
from onecard.loyalty.models import CardTransaction, PointsLot, PointsLotUse
from onecard.loyalty.models.points import LotSource, LotUseKind
from onecard.loyalty.models.stored_value import CardTxKind
from onecard.loyalty.points.rules import points_to_cash
from onecard.promotions.coupon_choices import CouponKind, CouponStatus
from onecard.promotions.models import Coupon
from onecard.sales.models import Sale

BATCH = 1000


def _grouped(queryset, member_path, **sums) -> dict:
    """{member id: {name: sum}} of one grouped query."""
    rows = (
        queryset.filter(**{f"{member_path}__isnull": False}).values(member_path).annotate(**sums).order_by()
    )
    return {row[member_path]: row for row in rows}


def member_costs(merchant) -> dict[int, dict]:
    """{member id: {historic_value, cost_bonus, cost_points, cost_coupons, cost_discounts}} of the merchant."""
    costs = defaultdict(lambda: dict.fromkeys(COST_FIELDS, 0))
    sales = _grouped(
        Sale.objects.filter(merchant=merchant, member__merchant=merchant),
        "member_id",
        spend=Sum(F("total_due") - F("returned_due")),
        discounts=Sum("discount_total"),
    )
    for member_id, row in sales.items():
        costs[member_id]["historic_value"] = row["spend"] or 0
        costs[member_id]["cost_discounts"] = row["discounts"] or 0
    card_transactions = CardTransaction.objects.filter(card__merchant=merchant, member__merchant=merchant)
    granted = _grouped(
        card_transactions.filter(kind__in=[CardTxKind.TOPUP, CardTxKind.CHARGE, CardTxKind.CAPTURE]),
        "member_id",
        topup_bonus=Sum("bonus", filter=Q(kind=CardTxKind.TOPUP)),
        rebate=Sum("rebate_bonus"),
    )
    withdrawn = _grouped(
        card_transactions.filter(kind=CardTxKind.REFUND),
        "member_id",
        # A refund's `bonus` is bonus withdrawn only when it refunds a top-up (else: bonus value paid back).
        topup_bonus=Sum("bonus", filter=Q(original__kind=CardTxKind.TOPUP)),
        rebate=Sum("rebate_bonus"),
    )
    for rows, sign in ((granted, 1), (withdrawn, -1)):
        for member_id, row in rows.items():
            costs[member_id]["cost_bonus"] += sign * ((row["topup_bonus"] or 0) + (row["rebate"] or 0))
    earned = _grouped(
        PointsLot.objects.filter(merchant=merchant, card__member__merchant=merchant, source=LotSource.EARN),
        "card__member_id",
        points=Sum("original"),
    )
    reversed_ = _grouped(
        PointsLotUse.objects.filter(
            lot__merchant=merchant, lot__card__member__merchant=merchant, kind=LotUseKind.REVERSE
        ),
        "lot__card__member_id",
        points=Sum("points"),
    )
    points = defaultdict(int)
    for member_id, row in earned.items():
        points[member_id] += row["points"] or 0
    for member_id, row in reversed_.items():
        points[member_id] -= row["points"] or 0
    for member_id, total in points.items():
        costs[member_id]["cost_points"] = points_to_cash(merchant, max(total, 0))
    coupons = _grouped(
        Coupon.objects.filter(
            merchant=merchant, status=CouponStatus.REDEEMED, template__kind=CouponKind.CASH
        ),
        "member_id",
        face=Sum("template__value"),
    )
    for member_id, row in coupons.items():
        costs[member_id]["cost_coupons"] = row["face"] or 0
    return dict(costs)


COST_FIELDS = ("historic_value", "cost_bonus", "cost_points", "cost_coupons", "cost_discounts")


def compute_costs(merchant) -> int:
    """Write every member's MemberValue of the merchant (replacing the earlier ones); returns how many."""
    costs = member_costs(merchant)
    now = timezone.now()
    rows = [
        MemberValue(member_id=pk, merchant=merchant, computed_at=now, **values)
        for pk, values in costs.items()
    ]
    with transaction.atomic():
        MemberValue.objects.filter(merchant=merchant).delete()
        MemberValue.objects.bulk_create(rows, batch_size=BATCH)
    return len(rows)
