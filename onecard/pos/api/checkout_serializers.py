"""Requests, answers and schema examples of the POS checkout endpoints (api_checkout.py): fen, ids as strings.

Bad input is refused while the body is validated, before the Idempotency-Key is looked at (so it
spends no key), with the checkout service's own codes: invalid_quantity, empty_cart,
invalid_tender, invalid_return_lines, return_reason_required.
"""

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from onecard.catalog.errors import InvalidQuantity
from onecard.core.api import IdField
from onecard.pos.api.serializers import (
    BalancesSerializer,
    CardNoField,
    CardPasswordField,
    PosCardMemberSerializer,
)
from onecard.sales.checkout import CHECKOUT_TENDERS, MAX_SALE_REF
from onecard.sales.errors import EmptyCart, InvalidReturnLines, InvalidTender, ReasonRequired
from onecard.sales.models import TenderKind

MAX_ITEMS = 200
MAX_QUANTITY = 99_999
MAX_COUPONS = 20
# The sale's reference is the journal's business_ref (64 characters at most), and a return posts
# "<ref>/R<n>": 56 leaves room for a million returns.
MAX_REF_LENGTH = MAX_SALE_REF  # the checkout service refuses longer ones (business_ref_too_long)
REF_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$"


def _whole(value) -> bool:
    """A JSON integer (not a boolean, not a float)."""
    return isinstance(value, int) and not isinstance(value, bool)


# ---- requests ----------------------------------------------------------------------------------------------


class CheckoutItemSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=60, required=False, help_text="The product's SKU.")
    barcode = serializers.CharField(max_length=60, required=False, help_text="Or its barcode, as scanned.")
    quantity = serializers.IntegerField(
        min_value=1, max_value=MAX_QUANTITY, help_text="Whole units; else 400 invalid_quantity."
    )

    def to_internal_value(self, data):
        if isinstance(data, dict):
            quantity = data.get("quantity")
            if not _whole(quantity) or not 0 < quantity <= MAX_QUANTITY:
                text = data.get("sku") or data.get("barcode") or ""
                raise InvalidQuantity(extra={"sku": str(text)[:60]})
        return super().to_internal_value(data)

    def validate(self, attrs):
        if not (attrs.get("sku") or attrs.get("barcode") or "").strip():
            raise serializers.ValidationError(_("Send the SKU or the barcode of each item."))
        return attrs


@extend_schema_field(
    {
        "type": "object",
        "properties": {
            kind: {"type": "integer", "format": "int64", "minimum": 1}
            for kind in ("stored_value", "points", "cash", "bank_card", "wechat", "alipay")
        },
        "additionalProperties": False,
        "description": "Fen per tender; `points` is a number of points (their cash value counts).",
    }
)
class TendersField(serializers.Field):
    """{tender: whole positive number}; an unknown tender or a bad value raises invalid_tender."""

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise InvalidTender()
        for kind, value in data.items():
            if kind not in CHECKOUT_TENDERS or not _whole(value) or value <= 0:
                raise InvalidTender(extra={"tender": str(kind)[:20]})
        return dict(data)

    def to_representation(self, value):
        return value


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {"type": "integer", "minimum": 1},
        "description": "{sale line id: units returned}; omit (or null) to return everything not returned yet.",
    }
)
class ReturnLinesField(serializers.Field):
    """{line id: units}: ids as digit strings, whole positive units; else invalid_return_lines."""

    def to_internal_value(self, data):
        if not isinstance(data, dict) or not data:
            raise InvalidReturnLines()
        lines = {}
        for key, quantity in data.items():
            text = str(key)
            if not text.isdigit() or len(text) > 18 or not _whole(quantity) or quantity <= 0:
                raise InvalidReturnLines(extra={"line": text[:20]})
            lines[int(text)] = quantity
        return lines

    def to_representation(self, value):
        return {str(k): v for k, v in value.items()}


class _CartSerializer(serializers.Serializer):
    items = CheckoutItemSerializer(many=True, max_length=MAX_ITEMS, help_text=f"At most {MAX_ITEMS} lines.")
    coupons = serializers.ListField(
        child=serializers.CharField(max_length=40),
        required=False,
        default=list,
        max_length=MAX_COUPONS,
        help_text="Coupon codes presented (as typed or scanned).",
    )

    def validate_items(self, items):
        if not items:
            raise EmptyCart()
        return [((item.get("sku") or item.get("barcode")).strip(), item["quantity"]) for item in items]


class _CustomerCartSerializer(_CartSerializer):
    # A cart and whose it is: the card, or (`member_id`, declared by each request) a member without one.
    # A comment, not a docstring: drf-spectacular would publish it as the description of both requests.
    card_no = CardNoField(required=False, allow_blank=True)

    def validate(self, attrs):
        if attrs.get("card_no") and attrs.get("member_id"):
            raise serializers.ValidationError(_("Send the card or the member, not both."))
        return attrs


class CheckoutQuoteSerializer(_CustomerCartSerializer):
    member_id = IdField(
        required=False, help_text="A member without a card (members/lookup); not with card_no."
    )


class CheckoutSerializer(_CustomerCartSerializer):
    member_id = IdField(
        required=False,
        help_text="A member without a card: member prices and coupons, no stored value or points; not with card_no.",
    )
    cash_received = serializers.IntegerField(
        required=False,
        min_value=0,
        help_text="Fen handed over for the cash tender (at least the cash tender); the sale keeps it for the change.",
    )
    password = CardPasswordField(
        help_text="The card password, when the stored-value tender passes the card's threshold."
    )
    tenders = TendersField()
    business_ref = serializers.RegexField(
        REF_PATTERN,
        max_length=MAX_REF_LENGTH,
        required=False,
        help_text="The sale's reference (letters, digits, _ . : -); default pos:<terminal id>:<key>.",
    )


class SaleReturnSerializer(serializers.Serializer):
    lines = ReturnLinesField(required=False, allow_null=True)
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True)

    def validate(self, attrs):
        if not (attrs.get("reason") or "").strip():
            raise ReasonRequired()
        return attrs


# ---- answers -------------------------------------------------------------------------------------------------


class AdjustmentSerializer(serializers.Serializer):
    source = serializers.CharField(help_text='member_price, tier, "promotion:<id>" or "coupon:<code>".')
    amount = serializers.IntegerField(help_text="Fen taken off.")
    explanation = serializers.CharField(help_text="Which rule took how much, in words.")
    line = serializers.CharField(allow_null=True, help_text="The line key; null for an order adjustment.")


class QuoteLineSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="The line's key in the cart (1, 2, ...).")
    sku = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    list_total = serializers.IntegerField()
    due = serializers.IntegerField(help_text="list_total − every adjustment, fen.")
    gift = serializers.BooleanField(help_text="A line the promotions added (满赠, 兑换券, a free unit).")
    adjustments = AdjustmentSerializer(many=True)


class CouponRefusalSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="coupon_expired, coupon_used, coupon_min_spend...")
    message = serializers.CharField()


class QuoteSerializer(serializers.Serializer):
    card_no = serializers.CharField(allow_null=True, help_text="The card's number (send it, not a QR, next).")
    member = PosCardMemberSerializer(allow_null=True)
    lines = QuoteLineSerializer(many=True)
    order_adjustments = AdjustmentSerializer(many=True, help_text="Already spread over the lines' due.")
    list_total = serializers.IntegerField()
    discount_total = serializers.IntegerField()
    total_due = serializers.IntegerField()
    promotions_applied = serializers.ListField(child=IdField())
    coupons_applied = serializers.ListField(child=serializers.CharField())
    coupons_refused = serializers.DictField(
        child=CouponRefusalSerializer(), help_text="{coupon code: why it was not applied}."
    )
    points_to_earn = serializers.IntegerField(help_text="The most: if all of total_due is paid in money.")
    max_points = serializers.IntegerField(help_text="Points that may pay (within the bill cap).")
    max_points_cash = serializers.IntegerField(help_text="Their cash value, fen.")
    max_stored_value = serializers.IntegerField(help_text="Stored value that may pay, fen.")


class SaleLineSerializer(serializers.Serializer):
    id = IdField(help_text="The id a return names.")
    key = serializers.CharField()
    sku = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    list_total = serializers.IntegerField()
    due = serializers.IntegerField()
    gift = serializers.BooleanField()
    adjustments = AdjustmentSerializer(many=True)
    returned_quantity = serializers.IntegerField()
    returned_due = serializers.IntegerField()


class SaleTenderSerializer(serializers.Serializer):
    id = IdField()
    kind = serializers.ChoiceField(
        choices=[(k, label) for k, label in TenderKind.choices if k in CHECKOUT_TENDERS]
    )
    amount = serializers.IntegerField(help_text="Fen toward the total (points: their cash value).")
    points = serializers.IntegerField(help_text="Points tender: the points spent.")
    bonus = serializers.IntegerField(help_text="Stored-value tender: the part paid with bonus value, fen.")
    card_transaction = IdField(source="card_transaction_id", allow_null=True)
    returned_amount = serializers.IntegerField(help_text="Fen of this tender given back by returns.")
    returned_points = serializers.IntegerField(help_text="Points tender: the points given back by returns.")


class ReturnTenderSerializer(serializers.Serializer):
    tender = IdField()
    kind = serializers.CharField(help_text="The tender's kind (stored_value, points, cash...).")
    amount = serializers.IntegerField(help_text="Fen of this tender given back.")
    card_transaction = IdField(allow_null=True, help_text="Stored value: the refund transaction.")
    points = serializers.IntegerField(required=False, help_text="Points tender: the points given back.")
    code = serializers.CharField(
        required=False,
        help_text="points_tender_not_returnable: the card was cancelled since; those points stay spent.",
    )


class ReturnLineSerializer(serializers.Serializer):
    line = IdField(source="line_id")
    quantity = serializers.IntegerField()
    due = serializers.IntegerField(help_text="The returned units' share of the line's due, fen.")


class SaleReturnDetailSerializer(serializers.Serializer):
    id = IdField()
    store = IdField(source="store_id")
    reason = serializers.CharField()
    amount = serializers.IntegerField(
        help_text="Fen given back over the tenders: lines_due − deduction, never below 0."
    )
    lines_due = serializers.IntegerField(help_text="The returned units' share of the sale's due, fen.")
    deduction = serializers.IntegerField(
        help_text="Fen kept back because what the customer keeps, priced again with the sale's own "
        "promotions, no longer earns a discount or a gift; negative: an earlier deduction given back."
    )
    tenders = ReturnTenderSerializer(many=True)
    lines = ReturnLineSerializer(many=True)
    points_taken_back = serializers.IntegerField(help_text="Earned points taken back.")
    points_shortfall = serializers.IntegerField(help_text="Of those, points the member had already spent.")
    points_given_back = serializers.IntegerField(help_text="Points of the points tender given back.")
    points_not_returned = serializers.IntegerField(
        help_text="Fen of the points tender that could not be given back (card cancelled since)."
    )
    created_at = serializers.DateTimeField()


class SaleSerializer(serializers.Serializer):
    id = IdField()
    business_ref = serializers.CharField()
    store = IdField(source="store_id")
    card_no = serializers.CharField(source="card.number", allow_null=True)
    member = PosCardMemberSerializer(allow_null=True)
    list_total = serializers.IntegerField()
    discount_total = serializers.IntegerField()
    total_due = serializers.IntegerField()
    returned_due = serializers.IntegerField()
    cash_received = serializers.IntegerField(
        help_text="Fen handed over for the cash tender; 0 when not recorded."
    )
    change = serializers.IntegerField(source="cash_change", help_text="Fen of change handed back.")
    earn_base = serializers.IntegerField(help_text="Fen the points were earned on.")
    points_earned = serializers.IntegerField()
    promotions = serializers.ListField(child=IdField(), help_text="Promotions applied.")
    coupons = serializers.ListField(child=serializers.CharField(), help_text="Coupon codes redeemed.")
    lines = SaleLineSerializer(many=True)
    order_adjustments = AdjustmentSerializer(many=True)
    tenders = SaleTenderSerializer(many=True)
    returns = SaleReturnDetailSerializer(many=True)
    created_at = serializers.DateTimeField()


class CheckoutResultSerializer(serializers.Serializer):
    sale = SaleSerializer()
    balances = BalancesSerializer(allow_null=True, help_text="The card's balances after the sale.")


class SaleBriefSerializer(serializers.Serializer):
    business_ref = serializers.CharField()
    total_due = serializers.IntegerField()
    returned_due = serializers.IntegerField()


class SaleReturnResultSerializer(SaleReturnDetailSerializer):
    sale = SaleBriefSerializer()
    balances = BalancesSerializer(allow_null=True, help_text="The card's balances after the return.")


# ---- schema examples ------------------------------------------------------------------------------------

# One sale, as the tests make it: a card with ¥100 + ¥20 bonus and 1000 points, 4 cakes at ¥30 and 2 teas
# at ¥5 (10% off the tea, limited stock), a ¥20-off-¥100 voucher; paid ¥60 stored value + 1000 points
# (¥10) + ¥39 cash; then 2 cakes returned.
_COUPON = "DSDM37B8GTNN6UNF"
_VOUCHER = {"source": f"coupon:{_COUPON}", "explanation": f"Cash coupon {_COUPON}: −¥20.00"}
_MEMBER = {"id": "17", "member_no": "10000017", "name": "张三", "phone_masked": "139****5678"}

QUOTE_REQUEST = {
    "card_no": "8800000013",
    "items": [{"sku": "CAKE-1", "quantity": 4}, {"barcode": "6901234567892", "quantity": 2}],
    "coupons": [_COUPON],
}
_LINES = [
    {"key": "1", "sku": "CAKE-1", "name": "蛋糕", "quantity": 4, "list_total": 12000, "due": 10140, "gift": False,
     "adjustments": [{**_VOUCHER, "amount": 1860, "line": "1"}]},
    {"key": "2", "sku": "TEA-1", "name": "乌龙茶", "quantity": 2, "list_total": 1000, "due": 760, "gift": False,
     "adjustments": [{"source": "promotion:9", "amount": 100, "explanation": "限量茶九折, 90% of the price: −¥1.00",
                      "line": "2"},
                     {**_VOUCHER, "amount": 140, "line": "2"}]},
]  # fmt: skip
_ORDER_ADJUSTMENTS = [{**_VOUCHER, "amount": 2000, "line": None}]
QUOTE_ANSWER = {
    "card_no": "8800000013", "member": _MEMBER, "lines": _LINES, "order_adjustments": _ORDER_ADJUSTMENTS,
    "list_total": 13000, "discount_total": 2100, "total_due": 10900,
    "promotions_applied": ["9"], "coupons_applied": [_COUPON], "coupons_refused": {},
    "points_to_earn": 109, "max_points": 1000, "max_points_cash": 1000, "max_stored_value": 10900,
}  # fmt: skip
CHECKOUT_REQUEST = {**QUOTE_REQUEST, "tenders": {"stored_value": 6000, "points": 1000, "cash": 3900}}
SALE_ANSWER = {
    "id": "12", "business_ref": "pos:T-SH01-0001:0b7c1d9e", "store": "4", "card_no": "8800000013",
    "member": _MEMBER, "list_total": 13000, "discount_total": 2100, "total_due": 10900, "returned_due": 0,
    "earn_base": 8900, "points_earned": 89, "promotions": ["9"], "coupons": [_COUPON],
    "lines": [{"id": str(40 + n), **line, "returned_quantity": 0, "returned_due": 0} for n, line in enumerate(_LINES)],
    "order_adjustments": _ORDER_ADJUSTMENTS,
    "tenders": [
        {"id": "31", "kind": "stored_value", "amount": 6000, "points": 0, "bonus": 1000, "card_transaction": "5120",
         "returned_amount": 0, "returned_points": 0},
        {"id": "32", "kind": "points", "amount": 1000, "points": 1000, "bonus": 0, "card_transaction": None,
         "returned_amount": 0, "returned_points": 0},
        {"id": "33", "kind": "cash", "amount": 3900, "points": 0, "bonus": 0, "card_transaction": None,
         "returned_amount": 0, "returned_points": 0},
    ],
    "returns": [], "created_at": "2025-11-25T08:00:00.123456+08:00",
}  # fmt: skip
CHECKOUT_ANSWER = {
    "sale": SALE_ANSWER,
    "balances": {"principal": 5000, "bonus": 1000, "held": 0, "points": 89},
}
RETURN_REQUEST = {"lines": {"40": 2}, "reason": "broken"}
RETURN_ANSWER = {
    "id": "3", "store": "4", "reason": "broken", "amount": 5070, "lines_due": 5070, "deduction": 0,
    "tenders": [{"tender": "31", "kind": "stored_value", "amount": 2790, "card_transaction": "5133"},
                {"tender": "32", "kind": "points", "amount": 465, "card_transaction": None, "points": 465},
                {"tender": "33", "kind": "cash", "amount": 1815, "card_transaction": None}],
    "lines": [{"line": "40", "quantity": 2, "due": 5070}],
    "points_taken_back": 41, "points_shortfall": 0, "points_given_back": 465, "points_not_returned": 0,
    "created_at": "2025-11-25T08:30:00.123456+08:00",
    "sale": {"business_ref": "pos:T-SH01-0001:0b7c1d9e", "total_due": 10900, "returned_due": 5070},
    "balances": {"principal": 7325, "bonus": 1465, "held": 0, "points": 513},
}  # fmt: skip
