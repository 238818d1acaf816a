"""Checkout on the POS API (L5): quote a cart, take a multi-tender payment, read a sale, return it.

Signed like every POS call. The quote is a read and takes no key; the checkout and the return move
money, so they take an Idempotency-Key and run through run_idempotent scoped to the terminal
(api.PosMoneyView). The services in `checkout.py` do the work: the cart is always priced on the
server, and any refusal takes nothing.

Bad input is refused before the key is looked at (so it spends no key) with the service's own
codes: invalid_quantity, empty_cart, invalid_tender, invalid_return_lines, return_reason_required.
Everything else is refused inside the idempotent run and stored with the key, with the status its
error class carries (422 for a business refusal, 409 for a conflict: checkout_errors.py).
"""

import hashlib
import re

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework.response import Response

from onecard.core.api import problem
from onecard.core.errors import BusinessError, NotFound
from onecard.loyalty.cards import qr
from onecard.loyalty.cards.services import resolve_card
from onecard.loyalty.stored_value import services as stored_value
from onecard.members.choices import MemberStatus
from onecard.members.models import Member
from onecard.pos.api.base import (
    _AUTH_PROBLEMS,
    IDEMPOTENCY_HEADER,
    PosApiView,
    PosMoneyView,
    _balances,
    _read_schema,
)
from onecard.pos.api.checkout_serializers import (
    CHECKOUT_ANSWER,
    CHECKOUT_REQUEST,
    MAX_REF_LENGTH,
    QUOTE_ANSWER,
    QUOTE_REQUEST,
    REF_PATTERN,
    RETURN_ANSWER,
    RETURN_REQUEST,
    SALE_ANSWER,
    CheckoutQuoteSerializer,
    CheckoutResultSerializer,
    CheckoutSerializer,
    QuoteSerializer,
    SaleReturnResultSerializer,
    SaleReturnSerializer,
    SaleSerializer,
)
from onecard.promotions import coupon_errors
from onecard.sales import checkout, returns
from onecard.sales.errors import COUPON_MESSAGES, CouponRefused
from onecard.sales.models import Sale, TenderKind
from onecard.sales.queries import checkout_sales

# ---- answers built ------------------------------------------------------------------------------------------


def _coupon_message(code) -> str:
    """The cashier's message for a coupon refusal code (the coupon services' or the pricing engine's)."""

    if code in COUPON_MESSAGES:
        return str(COUPON_MESSAGES[code])
    for value in vars(coupon_errors).values():
        if isinstance(value, type) and issubclass(value, BusinessError) and value.code == code:
            return str(value.default_message)
    return str(CouponRefused.default_message)


def _quote_body(result, card, member) -> dict:
    """The quote answer: the priced lines named by SKU (one query for every product), totals, limits."""
    quoted = result.quote
    products = {p.pk: p for p in checkout.cart_products(quoted)}
    lines = [
        {
            "key": line.key,
            "sku": products[line.product_id].sku,
            "name": products[line.product_id].name,
            "quantity": line.quantity,
            "list_total": line.list_total,
            "due": line.due,
            "gift": line.gift,
            "adjustments": [checkout.adjustment_row(a) for a in line.adjustments],
        }
        for line in quoted.lines
    ]
    refused = {
        code: {"code": error, "message": _coupon_message(error)}
        for code, error in quoted.coupons_refused.items()
    }
    return {
        "card_no": card.number if card is not None else None,
        "member": member,
        "lines": lines,
        "order_adjustments": [checkout.adjustment_row(a) for a in quoted.order_adjustments],
        "list_total": quoted.list_total,
        "discount_total": quoted.discount_total,
        "total_due": quoted.total_due,
        "promotions_applied": quoted.promotions_applied,
        "coupons_applied": quoted.coupons_applied,
        "coupons_refused": refused,
        "points_to_earn": result.points_to_earn,
        "max_points": result.max_points,
        "max_points_cash": result.max_points_cash,
        "max_stored_value": result.max_stored_value,
    }


def _full_sale(pk) -> Sale:
    """The sale with its card, member, lines, tenders and returns, in five queries."""
    return (
        Sale.objects.select_related("card", "member")
        .prefetch_related("lines", "tenders", "returns__lines")
        .get(pk=pk)
    )


def _sale_of(merchant_id, business_ref) -> Sale:
    """The sale with this reference of the terminal's merchant; 404 sale_not_found for any other."""
    sale = checkout_sales().filter(merchant_id=merchant_id, business_ref=business_ref).only("id").first()
    if sale is None:
        raise NotFound(
            code="sale_not_found",
            message=_("No sale has this reference."),
            extra={"business_ref": business_ref},
        )
    return _full_sale(sale.pk)


# ---- schema ---------------------------------------------------------------------------------------------------

_INPUT_PROBLEMS = "validation_error, invalid_quantity, empty_cart"
_CARD_PROBLEMS = "card_frozen, card_lost, card_expired, card_not_accepted_here, qr_expired..."
_COUPON_PROBLEMS = (
    "coupon_code_invalid, coupon_expired, coupon_not_yet_valid, coupon_used, coupon_void, coupon_not_valid_here, "
    "coupon_not_yours, coupon_min_spend, coupon_not_applicable, coupon_duplicate"
)
_MONEY_PROBLEMS = {
    400: problem(
        "idempotency_key_required, invalid_idempotency_key, validation_error, invalid_quantity, empty_cart, "
        "invalid_tender, invalid_return_lines, return_reason_required"
    ),
    409: problem("idempotency_conflict, sale_exists, promotion_sold_out, promotion_member_limit"),
    **_AUTH_PROBLEMS,
}


def _examples(request=None, answer=None, status="200"):
    """OpenAPI examples of a request body and of its answer with `status`."""
    examples = []
    if request is not None:
        examples.append(OpenApiExample("request", value=request, request_only=True))
    if answer is not None:
        examples.append(OpenApiExample("answer", value=answer, response_only=True, status_codes=[status]))
    return examples


# ---- views ----------------------------------------------------------------------------------------------------


class QuoteView(PosApiView):
    """Price a cart for a card, a member or nobody: what is due, what may pay, what it may earn; no writes."""

    request_serializer = CheckoutQuoteSerializer

    @_read_schema(
        operation_id="pos_checkout_quote",
        summary="Quote a cart: member prices, promotions and coupons; the most points and stored value usable",
        answer=QuoteSerializer,
        problems={
            400: problem(_INPUT_PROBLEMS + ", qr_invalid"),
            404: problem("card_not_found, member_not_found"),
            409: problem("qr_replayed"),
            422: problem("unknown_sku, " + _CARD_PROBLEMS),
        },
        examples=_examples(QUOTE_REQUEST, QUOTE_ANSWER),
    )
    def post(self, request):
        data = self.validated(request)
        store = self.terminal.store
        card, member = None, None
        if (data.get("card_no") or "").strip():
            card = resolve_card(data["card_no"], store=store)
            member = card.member
        elif data.get("member_id"):
            member = self._member(data["member_id"])
        result = checkout.quote(store.merchant, store, card or member, data["items"], data["coupons"])
        return Response(QuoteSerializer(_quote_body(result, card, member)).data)

    def _member(self, member_id):
        return member_of(self.terminal.store.merchant_id, member_id)


def member_of(merchant_id, member_id):
    """The active member with this id of the terminal's merchant; 404 member_not_found for any other."""

    member = Member.objects.filter(pk=member_id, merchant_id=merchant_id, status=MemberStatus.ACTIVE).first()
    if member is None:
        raise NotFound(code="member_not_found", message=_("No member has this id."))
    return member


class CheckoutView(PosMoneyView):
    """Take a multi-tender payment for a cart in one transaction; 201 with the sale and the card's balances."""

    request_serializer = CheckoutSerializer

    @extend_schema(
        operation_id="pos_checkout",
        summary="Check out a cart: re-price it, redeem coupons, take every tender at once (all or nothing)",
        parameters=[IDEMPOTENCY_HEADER],
        responses={
            201: CheckoutResultSerializer,
            **_MONEY_PROBLEMS,
            403: problem("card_password_required, wrong_card_password, card_password_locked"),
            404: problem("card_not_found, coupon_not_found"),
            422: problem(
                "unknown_sku, tenders_mismatch, points_over_cap, card_required, insufficient_balance, "
                "insufficient_points, " + _COUPON_PROBLEMS + ", " + _CARD_PROBLEMS
            ),
        },
        examples=_examples(CHECKOUT_REQUEST, CHECKOUT_ANSWER, "201"),
        tags=["pos"],
    )
    def post(self, request):

        key = self.idempotency_key(request)
        data = self.validated(request)
        store = self.terminal.store
        card_no = (data.get("card_no") or "").strip()
        paying = data["tenders"].get(TenderKind.STORED_VALUE, 0)
        if card_no and paying:
            # The password check commits its own count of wrong tries: outside, before the idempotent run.
            card = self._card_for_password(card_no)
            if card is not None and card.password_hash:
                stored_value.check_pay_password(card, paying, data.get("password") or None)
        business_ref = data.get("business_ref") or self.sale_ref(key)

        def fn():
            card = self.card(card_no) if card_no else None
            member = member_of(store.merchant_id, data["member_id"]) if data.get("member_id") else None
            sale = checkout.checkout(
                None,
                store=store,
                card=card,
                member=member,
                items=data["items"],
                coupon_codes=data["coupons"],
                tenders=data["tenders"],
                business_ref=business_ref,
                cash_received=data.get("cash_received"),
            )
            body = {"sale": _full_sale(sale.pk), "balances": _balances(card) if card is not None else None}
            return 201, CheckoutResultSerializer(body).data

        return self.run(request, key, fn)

    def sale_ref(self, key) -> str:
        """pos:<terminal id>:<key>; a key too long or with other characters is replaced by its hash."""
        terminal = self.terminal
        ref = f"pos:{terminal.terminal_id}:{key}"
        if len(ref) <= MAX_REF_LENGTH and re.fullmatch(REF_PATTERN, ref):
            return ref
        return f"pos:{terminal.pk}:{hashlib.sha256(key.encode()).hexdigest()[:32]}"

    def _card_for_password(self, card_no):
        """The card behind card_no without spending a QR code; None when it cannot pay (the checkout says why)."""

        store = self.terminal.store
        try:
            if card_no.startswith(qr.PREFIX):
                card = qr.verify_qr(card_no, consume=False)
            else:
                card = resolve_card(card_no, store=store)
        except BusinessError:
            return None
        return card if card.merchant_id == store.merchant_id else None


class SaleView(PosApiView):
    """One sale of the terminal's merchant with its lines, tenders and returns."""

    @_read_schema(
        operation_id="pos_sale",
        summary="A sale by its reference: lines, tenders, returns",
        answer=SaleSerializer,
        problems={
            404: problem("sale_not_found (also a sale of another merchant)"),
        },
        examples=_examples(answer=SALE_ANSWER),
    )
    def get(self, request, business_ref):
        return Response(SaleSerializer(_sale_of(self.terminal.store.merchant_id, business_ref)).data)


class SaleReturnView(PosMoneyView):
    """Return some lines or the whole sale: every tender gives back its share; 201 with the return."""

    request_serializer = SaleReturnSerializer

    @extend_schema(
        operation_id="pos_sale_return",
        summary="Return lines of a sale or all of it: tenders reversed in proportion, earned points taken back",
        parameters=[
            IDEMPOTENCY_HEADER,
            OpenApiParameter("business_ref", str, location=OpenApiParameter.PATH, description="The sale."),
        ],
        responses={
            201: SaleReturnResultSerializer,
            **_MONEY_PROBLEMS,
            404: problem("sale_not_found (also a sale of another merchant)"),
            409: problem("idempotency_conflict"),
            422: problem("over_return"),
        },
        examples=_examples(RETURN_REQUEST, RETURN_ANSWER, "201"),
        tags=["pos"],
    )
    def post(self, request, business_ref):
        def fn(data):
            store = self.terminal.store
            sale = _sale_of(store.merchant_id, business_ref)
            sale_return = returns.return_sale(
                None, sale, store=store, lines=data.get("lines"), reason=data["reason"]
            )
            sale_return.sale = Sale.objects.select_related("card").get(pk=sale.pk)
            card = sale_return.sale.card
            sale_return.balances = _balances(card) if card is not None else None
            return 201, SaleReturnResultSerializer(sale_return).data

        return self.run_once(request, fn)
