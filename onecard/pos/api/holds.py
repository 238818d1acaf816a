"""Holds (预授权) on the POS API: reserve stored value, then capture or void it."""

import contextlib
import datetime

from django.utils import timezone
from django.utils.translation import gettext as _

from onecard.core.api import problem
from onecard.core.errors import BusinessError, NotFound
from onecard.loyalty.cards.errors import CardNotAccepted
from onecard.loyalty.models.stored_value import CardTransaction, CardTxKind, CardTxStatus
from onecard.loyalty.stored_value import holds
from onecard.pos.api import serializers as ser
from onecard.pos.api.base import (
    PosMoneyView,
    _money_result,
    _money_schema,
    _of_merchant,
)
from onecard.sales import services as sales


class HoldView(PosMoneyView):
    request_serializer = ser.HoldRequestSerializer

    @_money_schema(
        "pos_hold",
        "Reserve stored value (pre-authorisation) for a later capture or void",
    )
    def post(self, request):
        def fn(data):
            seconds = data.get("expires_in_seconds")
            expires_in = datetime.timedelta(seconds=seconds) if seconds else holds.DEFAULT_EXPIRY
            tx = holds.hold(
                None,
                self.card(data["card_no"]),
                data["amount"],
                store=self.terminal.store,
                expires_in=expires_in,
                business_ref=self.business_ref,
            )
            return 200, _money_result(tx)

        return self.run_once(request, fn)


class _HoldFollowUp(PosMoneyView):
    def hold_row(self, hold_id):

        row = (
            CardTransaction.objects.select_related("card")
            .filter(_of_merchant(self.terminal.store.merchant_id), pk=hold_id, kind=CardTxKind.HOLD)
            .first()
        )
        if row is None:
            raise NotFound(
                code="hold_not_found", message=_("No hold has this id."), extra={"hold": str(hold_id)}
            )
        return row


class CaptureView(_HoldFollowUp):
    request_serializer = ser.CaptureRequestSerializer

    @_money_schema(
        "pos_hold_capture",
        "Capture an open hold in full or in part; the rest goes back to the card",
        extra_problems={422: problem("hold_expired, hold_not_open, capture_exceeds_hold, card_frozen...")},
    )
    def post(self, request, hold_id):

        key = self.idempotency_key(request)
        data = self.validated(request)
        self._release_if_expired(hold_id)

        def fn():
            row = self.hold_row(hold_id)
            if not row.card.product.accepts_store(self.terminal.store):
                raise CardNotAccepted(extra={"card": row.card.number})
            try:
                tx = sales.capture_hold(
                    None, row, data.get("amount"), store=self.terminal.store, business_ref=self.business_ref
                )
            except holds.HoldNotOpen as error:
                if (error.extra or {}).get("status") == CardTxStatus.EXPIRED:
                    raise holds.HoldExpired(extra={"hold": row.pk}) from error
                raise
            return 200, _money_result(tx)

        return self.run(request, key, fn)

    def _release_if_expired(self, hold_id):
        """An open hold past its expiry is released now, in its own transaction (capture does it, then
        refuses), so its funds are available again even though the idempotent refusal rolls back."""

        row = CardTransaction.objects.filter(
            _of_merchant(self.terminal.store.merchant_id), pk=hold_id, kind=CardTxKind.HOLD
        ).first()
        if row is None or row.status != CardTxStatus.OPEN or row.expires_at > timezone.now():
            return
        # Outside any transaction: capture commits the release, then raises hold_expired (or
        # hold_not_open when someone else closed the hold first).
        with contextlib.suppress(BusinessError):
            holds.capture(None, row)


class VoidView(_HoldFollowUp):
    @_money_schema(
        "pos_hold_void",
        "Void an open hold: everything reserved goes back to the card",
        extra_problems={422: problem("hold_not_open")},
    )
    def post(self, request, hold_id):

        key = self.idempotency_key(request)

        def fn():
            tx = holds.void(None, self.hold_row(hold_id), business_ref=self.business_ref)
            return 200, _money_result(tx)

        return self.run(request, key, fn)

    def fingerprint_body(self, request):
        return request.data if isinstance(request.data, dict) else {}
