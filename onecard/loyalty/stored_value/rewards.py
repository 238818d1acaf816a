"""The points and rebate of a charge or capture, and taking them back in proportion on a refund.

Both only at the issuer's own stores; the rules (earn rules, tier and birthday multipliers, the
best rebate, cumulative floors on refunds) are in docs/money.md.
"""

from onecard.loyalty.models import PointsEarnRule
from onecard.loyalty.models.stored_value import RebateRule
from onecard.loyalty.points import services as points
from onecard.loyalty.stored_value import rebates


def charge_rewards(actor, card, store, due, *, business_ref="", refers_to=None, context=None) -> dict:
    """Points earned and the rebate of a charge or capture of `due` at `store`, as CardTransaction fields.

    Runs inside the charge's transaction, after its entry, with the card locked. `context`: the
    charge's ChargeContext (fetch.py), which knows whether the merchant has earn or rebate rules,
    the member's tier and birthday and the points accounts; without it they are asked here.
    """
    if store.merchant_id != card.merchant_id:
        return {}
    fields = {}
    if context is not None:
        earns, has_rebates = context.earns_points, context.has_rebates
        known, accounts, held = context.member_facts(), context.points_accounts, context.held
    else:
        earns = PointsEarnRule.objects.filter(merchant_id=card.merchant_id, is_active=True).exists()
        has_rebates = RebateRule.objects.filter(merchant_id=card.merchant_id, is_active=True).exists()
        known, accounts, held = None, None, None
    if earns:
        try:
            earned = points.earn_for_spend(actor, card, due, store=store, business_ref=business_ref,
                                           card_locked=True, known=known, accounts=accounts, held=held)  # fmt: skip
        except points.PointsRateMissing:  # no rule for this store or day: the charge earns nothing
            earned = None
        if earned is not None and earned.points:
            fields.update(points_earned=earned.points, points_lot=earned.lot)
    if has_rebates:
        fields.update(rebates.grant(actor, card, store, due, business_ref=business_ref, refers_to=refers_to))
    return fields


def reverse_rewards(actor, original, refunded_before, amount, *, business_ref="") -> dict:
    """Take back the points (earned and rebate) of `original` for a refund of `amount`; CardTransaction fields.

    Cumulative floors over the original's amount; points.reverse_earn takes them off the card
    (never below zero) and reports the part already spent, summed into points_shortfall.
    """
    fields, shortfall = {}, 0
    memo = f"refund of #{original.pk}"
    for part, lot_field, field in (
        (original.points_earned, "points_lot", "points_reversed"),
        (original.rebate_points, "rebate_lot", "rebate_points"),
    ):
        if not part or getattr(original, f"{lot_field}_id") is None:
            continue
        already = refunded_before * part // original.amount
        share = rebates.share_back(refunded_before, amount, original.amount, part, already)
        if share:
            lot = getattr(original, lot_field)
            taken = points.reverse_earn(actor, lot, share, business_ref=business_ref, memo=memo)
            fields[field] = share
            shortfall += taken.shortfall
    if shortfall:
        fields["points_shortfall"] = shortfall
    return fields
