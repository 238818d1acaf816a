"""Requests and answers of the POS money API (docs/pos-api.md): amounts in fen, ids as strings.

Amounts and points follow one rule: a JSON integer, 1 to ledger.MAX_AMOUNT fen or points.MAX_POINTS
points. A string ("1999", "5"), a float (19.99, 1999.0, 1.5), a boolean, null, zero or a negative
number is refused with 400 `invalid_amount` (stored_value.check_amount) or `invalid_points`
(points.check_points), before the idempotency key is looked at, so bad input spends no key.
"""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from onecard.core.api import IdField
from onecard.core.masking import mask_phone
from onecard.loyalty.ledger.services import MAX_AMOUNT
from onecard.loyalty.points.rules import MAX_POINTS
from onecard.loyalty.points.services import check_points
from onecard.loyalty.stored_value.services import check_amount
from onecard.sales.errors import InvalidTender

MAX_HOLD_SECONDS = 7 * 24 * 3600
TOPUP_TENDERS = ("cash", "bank_card", "wechat", "alipay")


class _StrictCountField(serializers.Field):
    """A JSON integer > 0 checked by `check` (which raises the field's own problem code); no coercion."""

    check = None

    def run_validation(self, data=serializers.empty):
        if data is None:  # null is a bad value, not a missing one
            type(self).check(data)
        return super().run_validation(data)

    def to_internal_value(self, data):
        type(self).check(data)
        return data

    def to_representation(self, value):
        return value


@extend_schema_field({"type": "integer", "format": "int64", "minimum": 1, "maximum": MAX_AMOUNT})
class AmountField(_StrictCountField):
    """A whole number of fen > 0; anything else raises InvalidAmount (problem code invalid_amount)."""

    check = check_amount


@extend_schema_field({"type": "integer", "format": "int64", "minimum": 1, "maximum": MAX_POINTS})
class PointsField(_StrictCountField):
    """A whole number of points > 0; anything else raises InvalidPoints (problem code invalid_points)."""

    check = check_points


# ---- requests ------------------------------------------------------------------------------------------


class CardNoField(serializers.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 200)
        kwargs.setdefault(
            "help_text", "The card number (or RFID UID, or a dynamic QR payload) as the till read it."
        )
        super().__init__(**kwargs)


class CardPasswordField(serializers.CharField):
    """The card password a till may send with a payment: optional, at most 12 characters, never answered."""

    def __init__(self, **kwargs):
        super().__init__(required=False, allow_blank=True, max_length=12, write_only=True, **kwargs)


class TopupRequestSerializer(serializers.Serializer):
    card_no = CardNoField()
    amount = AmountField(help_text="Principal paid in, fen.")
    tender = serializers.CharField(
        max_length=20,
        allow_blank=True,  # "" is an unknown tender too: invalid_tender, like the others
        default="cash",
        help_text="How the principal was paid: cash (default), bank_card, wechat or alipay; "
        "anything else is 400 invalid_tender.",
    )

    def validate_tender(self, value):
        if value not in TOPUP_TENDERS:
            raise InvalidTender(extra={"tender": value[:20]})
        return value


class ChargeRequestSerializer(serializers.Serializer):
    card_no = CardNoField()
    amount = AmountField(help_text="List price in fen; the member's tier discount is applied.")
    password = CardPasswordField(
        help_text="The card password, when the amount due passes the card's threshold."
    )


class HoldRequestSerializer(serializers.Serializer):
    card_no = CardNoField()
    amount = AmountField(help_text="Fen to reserve.")
    expires_in_seconds = serializers.IntegerField(
        required=False, min_value=60, max_value=MAX_HOLD_SECONDS, help_text="Default 1800 (30 minutes)."
    )


class CaptureRequestSerializer(serializers.Serializer):
    amount = AmountField(required=False, help_text="Fen to capture, at most the amount held; default all.")


class RefundRequestSerializer(serializers.Serializer):
    transaction_id = IdField(help_text="The charge, capture or top-up refunded.")
    amount = AmountField(required=False, help_text="Fen to refund; default what remains.")
    reason = serializers.CharField(max_length=200)
    method = serializers.ChoiceField(
        choices=["bank", "cash", "original"],
        required=False,
        default="bank",
        help_text="Top-ups only: how the principal is paid back (cash only up to the merchant's limit).",
    )


class PointsEarnRequestSerializer(serializers.Serializer):
    card_no = CardNoField()
    amount = AmountField(help_text="What the sale cost, paid outside OneCard (cash, WeChat...), fen.")


class RedeemRequestSerializer(serializers.Serializer):
    card_no = CardNoField()
    points = PointsField(
        help_text="Points to spend (expiring first spent first); a JSON integer, like amounts."
    )


# ---- answers --------------------------------------------------------------------------------------------


class BalancesSerializer(serializers.Serializer):
    """The card's balances. `principal` and `bonus` are what may be spent now: money reserved by open
    holds is in `held` only, so the card's stored value is principal + bonus + held."""

    principal = serializers.IntegerField(help_text="本金 available now, fen (open holds excluded).")
    bonus = serializers.IntegerField(help_text="赠送金 available now, fen (open holds excluded).")
    held = serializers.IntegerField(help_text="Reserved by open holds, fen (principal and bonus together).")
    points = serializers.IntegerField(help_text="Points on the card (expired lots excluded).")


class TransactionSerializer(serializers.Serializer):
    """One CardTransaction."""

    id = IdField()
    kind = serializers.CharField(help_text="topup, charge, refund, hold, capture, void, expire")
    status = serializers.CharField(help_text="done; for holds: open, captured, voided, expired")
    card_no = serializers.CharField(source="card.number")
    amount = serializers.IntegerField(
        help_text="Fen, never negative (the kind says which way): a charge's amount due after the discount; "
        "a refund's amount given back; a capture's amount taken; 0 for a void or an expiry (nothing is taken: "
        "the whole hold goes back to principal and bonus, see balances)."
    )
    list_amount = serializers.IntegerField(help_text="Charge: the list price before the tier discount, fen.")
    discount = serializers.IntegerField(help_text="Charge: list_amount − amount, fen.")
    principal = serializers.IntegerField(help_text="The part of amount that was principal, fen, ≥ 0.")
    bonus = serializers.IntegerField(help_text="The part of amount that was bonus, fen, ≥ 0.")
    refunded_total = serializers.IntegerField(help_text="Charge, capture or top-up: refunded so far, fen.")
    points_earned = serializers.IntegerField(help_text="Charge or capture: points earned by the earn rules.")
    points_reversed = serializers.IntegerField(
        help_text="Refund: the share of the original's earned points taken back (cumulative floors)."
    )
    points_shortfall = serializers.IntegerField(
        help_text="Refund: of the points asked back (earned and rebate), those the member had already spent."
    )
    rebate_bonus = serializers.IntegerField(
        help_text="Charge or capture: rebate given as bonus, fen; refund: the rebate bonus taken back."
    )
    rebate_points = serializers.IntegerField(
        help_text="Charge or capture: rebate given as points; refund: the rebate points asked back."
    )
    tender = serializers.CharField()
    reason = serializers.CharField()
    original_id = IdField(allow_null=True, help_text="The hold, charge or top-up this one follows.")
    store = IdField(source="store_id")
    expires_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class MoneyResultSerializer(serializers.Serializer):
    transaction = TransactionSerializer()
    balances = BalancesSerializer(help_text="The card's balances right after this call.")


class RedeemLotSerializer(serializers.Serializer):
    lot = IdField()
    points = serializers.IntegerField()
    expires_at = serializers.DateTimeField()


class RedeemResultSerializer(serializers.Serializer):
    entry_id = IdField(help_text="The journal entry of the redemption.")
    kind = serializers.CharField(default="redeem")
    card_no = serializers.CharField()
    points = serializers.IntegerField()
    cash_value = serializers.IntegerField(help_text="What the points are worth at the merchant's rate, fen.")
    lots = RedeemLotSerializer(many=True)
    balances = BalancesSerializer()
    created_at = serializers.DateTimeField()


class PointsEarnResultSerializer(serializers.Serializer):
    entry_id = IdField(
        allow_null=True, help_text="The journal entry of the grant; null when the sale earned 0."
    )
    kind = serializers.CharField(default="earn")
    card_no = serializers.CharField()
    amount = serializers.IntegerField(help_text="The sale, fen.")
    points = serializers.IntegerField(
        help_text="Points earned (rule rate × tier × birthday multiplier, floored)."
    )
    lot = IdField(allow_null=True, help_text="The points lot created; null when the sale earned 0.")
    expires_at = serializers.DateTimeField(allow_null=True, help_text="When these points expire.")
    explanation = serializers.ListField(
        child=serializers.CharField(), help_text="How the points were computed."
    )
    balances = BalancesSerializer()


class PosCardMemberSerializer(serializers.Serializer):
    id = IdField()
    member_no = serializers.CharField()
    name = serializers.CharField()
    phone_masked = serializers.SerializerMethodField()

    def get_phone_masked(self, member) -> str:
        return mask_phone(member.phone)


class TierBriefSerializer(serializers.Serializer):
    name = serializers.CharField()
    discount_rate = serializers.DecimalField(max_digits=4, decimal_places=3, help_text="0.900 = 10% off.")


class OpenHoldSerializer(serializers.Serializer):
    id = IdField()
    amount = serializers.IntegerField()
    expires_at = serializers.DateTimeField()


class PosCardSerializer(serializers.Serializer):
    number = serializers.CharField()
    status = serializers.CharField()
    product = serializers.CharField(source="product.name")
    expires_at = serializers.DateTimeField(allow_null=True)
    accepted_here = serializers.BooleanField(
        help_text="The card's product may be used at this terminal's store."
    )
    member = PosCardMemberSerializer(allow_null=True)
    tier = TierBriefSerializer(allow_null=True)
    balances = BalancesSerializer()
    points_available = serializers.IntegerField(help_text="Unexpired points that may be redeemed.")
    open_holds = OpenHoldSerializer(many=True)


class CardLookupSerializer(serializers.Serializer):
    results = PosCardSerializer(many=True)


class TransactionPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = TransactionSerializer(many=True)
