"""The arithmetic of stored value: valid amounts, the tier discount, principal and bonus shares.

Rounding is explicit and written down in docs/money.md (tier discount half-up, shares floored).
"""

from decimal import ROUND_HALF_UP, Decimal

from onecard.core.money import MAX_AMOUNT
from onecard.loyalty.ledger.errors import InsufficientBalance, InvalidAmount
from onecard.loyalty.models.stored_value import ConsumptionOrder, StoredValueSettings
from onecard.loyalty.tiers.services import member_tier


def check_amount(amount) -> int:
    """A positive whole number of fen up to ledger.MAX_AMOUNT, or invalid_amount."""
    if type(amount) is not int or amount <= 0 or amount > MAX_AMOUNT:
        raise InvalidAmount(extra={"amount": str(amount)})
    return amount


def consumption_order(product) -> str:
    """The product's consumption order (StoredValueSettings), proportional when it has none."""
    row = StoredValueSettings.objects.filter(product_id=product.pk).first()
    return row.consumption_order if row else ConsumptionOrder.PROPORTIONAL


def split_due(due, principal, bonus, order) -> tuple[int, int]:
    """(principal, bonus) taken for `due` by `order`; InsufficientBalance when the two do not cover it."""
    if principal + bonus < due:
        raise InsufficientBalance(extra={"available": principal + bonus, "requested": due})
    if order == ConsumptionOrder.PRINCIPAL_FIRST:
        from_principal = min(due, principal)
        return from_principal, due - from_principal
    if order == ConsumptionOrder.BONUS_FIRST:
        from_bonus = min(due, bonus)
        return due - from_bonus, from_bonus
    from_bonus = due * bonus // (principal + bonus)
    return due - from_bonus, from_bonus


def cumulative_share(done_after, whole, part, already) -> int:
    """This step's share of `part`: floor(done_after × part / whole) − what earlier steps took.

    Cumulative floors never decrease and reach `part` exactly when `done_after` reaches `whole`,
    so each step's share is ≥ 0 and the steps add up to `part` exactly.
    """
    return done_after * part // whole - already


def apply_rate(list_amount, rate) -> int:
    """list × rate, rounded half-up to the fen (the tier discount's rounding)."""
    return int((Decimal(list_amount) * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def discounted(list_amount, member) -> tuple[int, Decimal]:
    """(due, rate): list × the member's tier discount rate, rounded half-up to the fen."""
    tier = member_tier(member) if member is not None else None
    rate = Decimal(tier.discount_rate) if tier is not None else Decimal(1)
    return apply_rate(list_amount, rate), rate
