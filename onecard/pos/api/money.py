"""Money calls of the POS API: top-up, charge, refund, points earning and redemption."""

from django.utils.translation import gettext as _

from onecard.core.api import problem
from onecard.core.errors import NotFound
from onecard.core.idempotency import current_idempotency_key
from onecard.loyalty.models import JournalEntry
from onecard.loyalty.models.stored_value import CardTransaction, CardTxKind
from onecard.loyalty.points import services as points
from onecard.loyalty.stored_value import services as stored_value
from onecard.pos.api import serializers as ser
from onecard.pos.api.base import (
    PosMoneyView,
    _balances,
    _money_result,
    _money_schema,
    _of_merchant,
)
from onecard.sales import services as sales


class TopupView(PosMoneyView):
    request_serializer = ser.TopupRequestSerializer

    @_money_schema(
        "pos_topup",
        "Top up a stored-value card (bonus rules apply)",
        extra_problems={422: problem("balance_cap_exceeded, card_frozen, card_lost, card_expired...")},
    )
    def post(self, request):
        def fn(data):
            tx = stored_value.topup(
                None,
                self.card(data["card_no"]),
                data["amount"],
                store=self.terminal.store,
                tender=data["tender"],
                business_ref=self.business_ref,
            )
            return 200, _money_result(tx)

        return self.run_once(request, fn)


class ChargeView(PosMoneyView):
    request_serializer = ser.ChargeRequestSerializer

    @_money_schema(
        "pos_charge",
        "Charge a stored-value card: the tier discount applied, principal and bonus consumed",
        extra_problems={
            422: problem(
                "insufficient_balance, daily_limit_exceeded, card_frozen, card_not_accepted_here..."
            ),
            403: problem("card_password_required, wrong_card_password, card_password_locked"),
        },
    )
    def post(self, request):

        key = self.idempotency_key(request)
        data = self.validated(request)
        store = self.terminal.store
        # The password check commits its own count of wrong tries: outside, before the idempotent run.
        target = stored_value.prepare_terminal_charge(
            data["card_no"], data["amount"], store=store, password=data.get("password") or None
        )

        def fn():
            card = stored_value.terminal_card(target, store=store)
            tx = sales.charge_card(None, card, data["amount"], store=store, business_ref=self.business_ref)
            return 200, _money_result(tx)

        return self.run(request, key, fn)


class RefundView(PosMoneyView):
    request_serializer = ser.RefundRequestSerializer

    @_money_schema(
        "pos_refund",
        "Refund a charge or capture, in full or in part: principal and bonus go back in proportion, "
        "the points earned and the rebate are taken back in proportion. Refund a top-up: its principal "
        "is paid back by `method` and the bonus it granted is withdrawn in proportion",
        extra_problems={422: problem("over_refund, not_refundable, cash_refund_too_large")},
    )
    def post(self, request):
        def fn(data):
            original = (
                CardTransaction.objects.select_related("card")
                .filter(_of_merchant(self.terminal.store.merchant_id), pk=data["transaction_id"])
                .first()
            )
            if original is None:
                raise NotFound(
                    code="transaction_not_found",
                    message=_("No transaction has this id."),
                    extra={"transaction": str(data["transaction_id"])},
                )
            if original.kind == CardTxKind.TOPUP:
                tx = stored_value.refund_topup(
                    None, original, data.get("amount"), store=self.terminal.store, reason=data["reason"],
                    method=data["method"], business_ref=self.business_ref,
                )  # fmt: skip
            else:
                tx = sales.refund_charge(
                    None,
                    original,
                    data.get("amount"),
                    store=self.terminal.store,
                    reason=data["reason"],
                    business_ref=self.business_ref,
                )
            return 200, _money_result(tx)

        return self.run_once(request, fn)


class PointsEarnView(PosMoneyView):
    request_serializer = ser.PointsEarnRequestSerializer

    @_money_schema(
        "pos_points_earn",
        "Earn points for a sale paid outside OneCard (cash, WeChat...): the merchant's earn rules apply",
        response=ser.PointsEarnResultSerializer,
        extra_problems={422: problem("points_rate_missing, card_frozen, card_not_accepted_here...")},
    )
    def post(self, request):
        def fn(data):
            card = self.card(data["card_no"])
            earned = points.earn_for_spend(
                None, card, data["amount"], store=self.terminal.store, business_ref=self.business_ref
            )
            lot = earned.lot
            body = {
                "entry_id": lot.entry_id if lot else None,
                "kind": "earn",
                "card_no": card.number,
                "amount": data["amount"],
                "points": earned.points,
                "lot": lot.pk if lot else None,
                "expires_at": lot.expires_at if lot else None,
                "explanation": [str(step) for step in earned.explanation],
                "balances": _balances(card),
            }
            return 200, ser.PointsEarnResultSerializer(body).data

        return self.run_once(request, fn)


class RedeemView(PosMoneyView):
    request_serializer = ser.RedeemRequestSerializer

    @_money_schema(
        "pos_points_redeem",
        "Spend points of a card (the lots that expire first are spent first)",
        response=ser.RedeemResultSerializer,
    )
    def post(self, request):
        def fn(data):
            card = self.card(data["card_no"])
            uses = points.redeem(
                None, card, data["points"], store=self.terminal.store, business_ref=self.business_ref
            )
            entry = (
                JournalEntry.objects.filter(idempotency_key=current_idempotency_key()).order_by("-pk").first()
            )
            body = {
                "entry_id": entry.pk,
                "kind": "redeem",
                "card_no": card.number,
                "points": data["points"],
                "cash_value": points.points_to_cash(card.merchant_id, data["points"]),
                "lots": [{"lot": u.lot.pk, "points": u.points, "expires_at": u.lot.expires_at} for u in uses],
                "balances": _balances(card),
                "created_at": entry.created_at,
            }
            return 200, ser.RedeemResultSerializer(body).data

        return self.run_once(request, fn)
