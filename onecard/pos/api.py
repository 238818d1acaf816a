"""The POS terminal API under /api/v1/pos/: every request signed by a registered terminal.

Views are thin: the terminal and its store come from `request.auth`; reads are limited to the
terminal's merchant, plus the cards of its alliance whose product is accepted at alliance merchants
(looked up by number, RFID or QR; never by phone). Money calls (top-up, charge, hold/capture/void,
refund, points earning and redemption)
take an Idempotency-Key and run through core.idempotency.run_idempotent, scoped to the terminal;
their request and answer serializers are in `serializers.py`.
"""

import contextlib

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from onecard.core.api import IdField, problem
from onecard.core.api_base import ProblemAutoSchema
from onecard.core.errors import ValidationFailed
from onecard.core.masking import mask_phone

from . import serializers as ser
from .authentication import AUTH_SCHEME, IsSignedTerminal, TerminalSignatureAuthentication

LOOKUP_LIMIT = 20

_AUTH_PROBLEMS = {
    401: problem(
        "not_authenticated (no X-Terminal-Id), invalid_terminal, invalid_signature, stale_timestamp, "
        "replayed_nonce"
    )
}


class PosSchema(ProblemAutoSchema):
    """A terminal holds no permission codes: no generic 403 in the POS answers (card passwords add theirs)."""

    def _problem_codes(self):
        return [c for c in super()._problem_codes() if c != "403"]


class PosApiView(APIView):
    """Base of the POS endpoints: signed terminals only, JSON in, problem+json out."""

    authentication_classes = [TerminalSignatureAuthentication]
    permission_classes = [IsSignedTerminal]
    parser_classes = [JSONParser]
    throttle_classes = []
    schema = PosSchema()

    @property
    def terminal(self):
        return self.request.auth

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        if response is not None and response.status_code == 401 and "WWW-Authenticate" not in response:
            response["WWW-Authenticate"] = AUTH_SCHEME
        return response


# ---- ping -------------------------------------------------------------------------------------------


class TerminalBriefSerializer(serializers.Serializer):
    terminal_id = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField()


class StoreBriefSerializer(serializers.Serializer):
    id = IdField()
    code = serializers.CharField()
    name = serializers.CharField()
    merchant = IdField(source="merchant_id")


class PingSerializer(serializers.Serializer):
    terminal = TerminalBriefSerializer()
    store = StoreBriefSerializer()
    server_time = serializers.DateTimeField(help_text="The server clock; sign with a timestamp within 300 s.")


class PingView(PosApiView):
    """Answers who the server thinks is calling, from which store, and its clock: the first call to try."""

    @extend_schema(
        operation_id="pos_ping",
        summary="Check the signature set-up: which terminal and store the server sees, and its clock",
        responses={200: PingSerializer, **_AUTH_PROBLEMS},
        tags=["pos"],
    )
    def get(self, request):
        terminal = self.terminal
        body = {
            "terminal": {"terminal_id": terminal.terminal_id, "name": terminal.name, "kind": terminal.kind},
            "store": terminal.store,
            "server_time": timezone.localtime(),
        }
        return Response(PingSerializer(body).data)


# ---- member lookup ----------------------------------------------------------------------------------


class PosMemberSerializer(serializers.Serializer):
    id = IdField()
    member_no = serializers.CharField()
    name = serializers.CharField()
    phone_masked = serializers.SerializerMethodField()

    def get_phone_masked(self, member) -> str:
        return mask_phone(member.phone)


class LookupSerializer(serializers.Serializer):
    results = PosMemberSerializer(many=True)
    truncated = serializers.BooleanField(help_text=f"True when more than {LOOKUP_LIMIT} members match.")


class MemberLookupView(PosApiView):
    """Members of the terminal's merchant (any store: a card works chain-wide), phones masked, at most 20."""

    @extend_schema(
        operation_id="pos_member_lookup",
        summary="Find members of the terminal's merchant by phone, member number, pinyin or name",
        parameters=[
            OpenApiParameter(
                "q",
                OpenApiTypes.STR,
                required=True,
                description="11 digits = phone; 4 digits = last four of the phone; other digits = member "
                "number; latin letters = pinyin initials; else a name prefix.",
            )
        ],
        responses={200: LookupSerializer, 400: problem("validation_error: q is missing"), **_AUTH_PROBLEMS},
        tags=["pos"],
    )
    def get(self, request):
        from onecard.members.choices import MemberStatus
        from onecard.members.models import Member
        from onecard.members.queries import search_condition

        q = (request.query_params.get("q") or "").strip()
        if not q:
            raise ValidationFailed({"q": [_("Type a phone number, member number or name.")]})
        merchant_id = self.terminal.store.merchant_id
        rows = list(
            Member.objects.filter(merchant_id=merchant_id, status=MemberStatus.ACTIVE)
            .filter(search_condition(q))
            .only("id", "member_no", "name", "phone")
            .order_by("member_no")[: LOOKUP_LIMIT + 1]
        )
        body = {"results": rows[:LOOKUP_LIMIT], "truncated": len(rows) > LOOKUP_LIMIT}
        return Response(LookupSerializer(body).data)


# ---- cards and money ----------------------------------------------------------------------------------
# Every money call: signed terminal → Idempotency-Key present → body validated (bad input spends no key)
# → run_idempotent(scope "terminal:<pk>", fingerprint of method, path and body) → the stored answer.
# The terminal's store is the store of every operation; the journal names the terminal through
# business_ref "pos:<terminal id>" (the actor is None: no staff member signs a terminal's request).

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=True,
    description="1-255 printable characters, one per intended operation; a retry sends the same key and body.",
)
_MONEY_PROBLEMS = {
    400: problem("idempotency_key_required, invalid_idempotency_key, invalid_amount, validation_error"),
    404: problem("card_not_found, transaction_not_found, hold_not_found"),
    409: problem("idempotency_conflict: the key was used for another request"),
    422: problem("insufficient_balance, insufficient_points"),
    **_AUTH_PROBLEMS,
}


def _balances(card) -> dict:
    from onecard.loyalty.cards.services import card_balances
    from onecard.loyalty.ledger.choices import AccountKind

    values = card_balances(card)
    return {
        "principal": values.get(AccountKind.MEMBER_PRINCIPAL, 0),
        "bonus": values.get(AccountKind.MEMBER_BONUS, 0),
        "held": values.get(AccountKind.HOLD_RESERVE, 0),
        "points": values.get(AccountKind.MEMBER_POINTS, 0),
    }


def _usable_here(card, store) -> bool:
    """A card a terminal of `store` may find by number, RFID or QR: its merchant's, or an alliance card
    whose product is accepted here (no query for the merchant's own cards)."""
    return card.merchant_id == store.merchant_id or card.product.accepts_store(store)


def _money_result(tx) -> dict:
    return ser.MoneyResultSerializer({"transaction": tx, "balances": _balances(tx.card)}).data


class PosMoneyView(PosApiView):
    """Base of the money calls: the key, the validated body, run_idempotent, the stored answer."""

    request_serializer = None

    @property
    def business_ref(self) -> str:
        return f"pos:{self.terminal.terminal_id}"

    def idempotency_key(self, request) -> str:
        from onecard.core.idempotency import InvalidIdempotencyKey

        key = request.headers.get("Idempotency-Key", "")
        if not key:
            raise InvalidIdempotencyKey(
                code="idempotency_key_required", message=_("An idempotency key is required.")
            )
        return key

    def validated(self, request) -> dict:
        if not isinstance(request.data, dict):
            raise ValidationFailed({"non_field_errors": [_("Send a JSON object.")]})
        serializer = self.request_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def fingerprint_body(self, request) -> dict:
        """What a retry must repeat; the card password is left out (a hash of a short PIN would leak it)."""
        return {k: v for k, v in request.data.items() if k != "password"}

    def run(self, request, key, fn):
        from onecard.core.idempotency import run_idempotent
        from onecard.core.problems import PROBLEM_CONTENT_TYPE

        fingerprint = {"method": request.method, "path": request.path, "body": self.fingerprint_body(request)}
        result = run_idempotent(key, fingerprint, fn, scope=f"terminal:{self.terminal.pk}")
        response = Response(result.body, status=result.status)
        if result.status >= 400:
            response.content_type = PROBLEM_CONTENT_TYPE
        response["Idempotent-Replayed"] = "true" if result.replayed else "false"
        return response

    def card(self, card_no):
        from onecard.loyalty.cards.services import resolve_card

        return resolve_card(card_no, store=self.terminal.store)


def _money_schema(operation_id, summary, request, response=None, extra_problems=None, parameters=()):
    return extend_schema(
        operation_id=operation_id,
        summary=summary,
        request=request,
        parameters=[IDEMPOTENCY_HEADER, *parameters],
        responses={
            200: response or ser.MoneyResultSerializer,
            **_MONEY_PROBLEMS,
            **(extra_problems or {}),
        },
        tags=["pos"],
    )


class CardLookupView(PosApiView):
    """A card by number, RFID or dynamic QR, or every usable card of the member with this phone."""

    @extend_schema(
        operation_id="pos_card_lookup",
        summary="Find a card by number, dynamic QR or the member's phone: member, tier, balances, open holds",
        parameters=[
            OpenApiParameter(
                "q",
                OpenApiTypes.STR,
                required=True,
                description="A card number, an RFID UID, a dynamic QR payload (OC1....; spent by this call) "
                "or an 11-digit phone (every card of that member).",
            )
        ],
        responses={
            200: ser.CardLookupSerializer,
            400: problem("validation_error: q is missing; qr_invalid"),
            404: problem("card_not_found"),
            409: problem("qr_replayed"),
            422: problem("qr_expired"),
            **_AUTH_PROBLEMS,
        },
        tags=["pos"],
    )
    def get(self, request):
        from onecard.loyalty.cards import qr
        from onecard.loyalty.cards.errors import CardNotFound
        from onecard.loyalty.cards.numbers import is_valid_number, normalize_number
        from onecard.loyalty.models import Card

        q = (request.query_params.get("q") or "").strip()
        if not q:
            raise ValidationFailed({"q": [_("Scan a card or QR code, or type a card number or phone.")]})
        store = self.terminal.store
        merchant_id = store.merchant_id
        cards = Card.objects.select_related("product", "member")
        if q.startswith(qr.PREFIX):
            found = [qr.verify_qr(q)]
        else:
            number = normalize_number(q)
            found = list(cards.filter(number=number)) if is_valid_number(number) else []
            found = found or list(cards.filter(rfid_uid=q.upper()))
            found = [card for card in found if _usable_here(card, store)]
            if not found and len(q) == 11 and q.isdigit():  # a phone finds members of this merchant only
                phone_cards = cards.filter(
                    merchant_id=merchant_id, member__phone=q, member__merged_into__isnull=True
                )
                found = list(phone_cards.order_by("number"))
        found = [card for card in found if _usable_here(card, store)]
        if not found:
            raise CardNotFound(extra={"number": q[:40]})
        body = {"results": [self._card(card) for card in found[:LOOKUP_LIMIT]]}
        return Response(ser.CardLookupSerializer(body).data)

    def _card(self, card) -> dict:
        from onecard.loyalty.models.stored_value import CardTransaction, CardTxKind, CardTxStatus
        from onecard.loyalty.points.services import available_points
        from onecard.loyalty.tiers.services import member_tier

        holds = CardTransaction.objects.filter(card=card, kind=CardTxKind.HOLD, status=CardTxStatus.OPEN)
        return {
            "number": card.number,
            "status": card.status,
            "product": card.product,
            "expires_at": card.expires_at,
            "accepted_here": card.product.accepts_store(self.terminal.store),
            "member": card.member,
            "tier": member_tier(card.member) if card.member_id else None,
            "balances": _balances(card),
            "points_available": available_points(card),
            "open_holds": list(holds.order_by("expires_at", "pk")),
        }


class TopupView(PosMoneyView):
    request_serializer = ser.TopupRequestSerializer

    @_money_schema(
        "pos_topup",
        "Top up a stored-value card (bonus rules apply)",
        ser.TopupRequestSerializer,
        extra_problems={422: problem("balance_cap_exceeded, card_frozen, card_lost, card_expired...")},
    )
    def post(self, request):
        from onecard.loyalty.stored_value import services as stored_value

        key = self.idempotency_key(request)
        data = self.validated(request)

        def fn():
            tx = stored_value.topup(
                None,
                self.card(data["card_no"]),
                data["amount"],
                store=self.terminal.store,
                tender=data["tender"],
                business_ref=self.business_ref,
            )
            return 200, _money_result(tx)

        return self.run(request, key, fn)


class ChargeView(PosMoneyView):
    request_serializer = ser.ChargeRequestSerializer

    @_money_schema(
        "pos_charge",
        "Charge a stored-value card: the tier discount applied, principal and bonus consumed",
        ser.ChargeRequestSerializer,
        extra_problems={
            422: problem(
                "insufficient_balance, daily_limit_exceeded, card_frozen, card_not_accepted_here..."
            ),
            403: problem("card_password_required, wrong_card_password, card_password_locked"),
        },
    )
    def post(self, request):
        from onecard.loyalty.cards import qr
        from onecard.loyalty.stored_value import services as stored_value

        key = self.idempotency_key(request)
        data = self.validated(request)
        # The password check commits its own count of wrong tries: outside, before the idempotent run.
        card = self._card_for_password(data["card_no"])
        if card is not None and card.password_hash:  # without a password there is nothing to check
            stored_value.check_charge_password(card, data["amount"], data.get("password") or None)

        # A card found by number is charged as it is: the charge checks status, expiry and store itself
        # with the same codes; a QR code (or an unknown number) goes through resolve_card.
        by_number = card is not None and not data["card_no"].strip().startswith(qr.PREFIX)

        def fn():
            tx = stored_value.charge(
                None,
                card if by_number else self.card(data["card_no"]),
                data["amount"],
                store=self.terminal.store,
                password_checked=True,
                business_ref=self.business_ref,
            )
            return 200, _money_result(tx)

        return self.run(request, key, fn)

    def _card_for_password(self, card_no):
        """The card behind card_no without spending a QR code; None when unknown (the charge refuses it)."""
        from onecard.loyalty.cards import qr
        from onecard.loyalty.cards.numbers import is_valid_number, normalize_number
        from onecard.loyalty.models import Card

        text = (card_no or "").strip()
        if text.startswith(qr.PREFIX):
            try:
                return qr.verify_qr(text, consume=False)
            except Exception:  # noqa: BLE001 - a bad QR is refused by the charge itself
                return None
        number = normalize_number(text)
        if is_valid_number(number):
            column, value = "number", number
        elif text:
            column, value = "rfid_uid", text.upper()
        else:
            return None
        # The hot path: one light read. Most cards have no password; they are charged as Card(pk=...)
        # and the charge's own locking read checks status, expiry and store with the usual codes.
        table = connection.ops.quote_name(Card._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT id, password_hash FROM {table} WHERE {column} = %s", [value])
            row = cursor.fetchone()
        if row is None:
            return None
        if not row[1]:
            return Card(pk=row[0])
        card = Card.objects.select_related("product").get(pk=row[0])
        return card if _usable_here(card, self.terminal.store) else None


class HoldView(PosMoneyView):
    request_serializer = ser.HoldRequestSerializer

    @_money_schema(
        "pos_hold",
        "Reserve stored value (pre-authorisation) for a later capture or void",
        ser.HoldRequestSerializer,
    )
    def post(self, request):
        import datetime

        from onecard.loyalty.stored_value import holds

        key = self.idempotency_key(request)
        data = self.validated(request)
        seconds = data.get("expires_in_seconds")
        expires_in = datetime.timedelta(seconds=seconds) if seconds else holds.DEFAULT_EXPIRY

        def fn():
            tx = holds.hold(
                None,
                self.card(data["card_no"]),
                data["amount"],
                store=self.terminal.store,
                expires_in=expires_in,
                business_ref=self.business_ref,
            )
            return 200, _money_result(tx)

        return self.run(request, key, fn)


def _of_merchant(merchant_id):
    """A card transaction of this merchant: made at one of its stores, or on one of its cards."""
    from django.db.models import Q

    return Q(store__merchant_id=merchant_id) | Q(card__merchant_id=merchant_id)


class _HoldFollowUp(PosMoneyView):
    def hold_row(self, hold_id):
        from onecard.core.errors import NotFound
        from onecard.loyalty.models.stored_value import CardTransaction, CardTxKind

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
        ser.CaptureRequestSerializer,
        extra_problems={422: problem("hold_expired, hold_not_open, capture_exceeds_hold, card_frozen...")},
    )
    def post(self, request, hold_id):
        from onecard.loyalty.cards.errors import CardNotAccepted
        from onecard.loyalty.models.stored_value import CardTxStatus
        from onecard.loyalty.stored_value import holds

        key = self.idempotency_key(request)
        data = self.validated(request)
        self._release_if_expired(hold_id)

        def fn():
            row = self.hold_row(hold_id)
            if not row.card.product.accepts_store(self.terminal.store):
                raise CardNotAccepted(extra={"card": row.card.number})
            try:
                tx = holds.capture(
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
        from onecard.core.errors import BusinessError
        from onecard.loyalty.models.stored_value import CardTransaction, CardTxKind, CardTxStatus
        from onecard.loyalty.stored_value import holds

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
        None,
        extra_problems={422: problem("hold_not_open")},
    )
    def post(self, request, hold_id):
        from onecard.loyalty.stored_value import holds

        key = self.idempotency_key(request)

        def fn():
            tx = holds.void(None, self.hold_row(hold_id), business_ref=self.business_ref)
            return 200, _money_result(tx)

        return self.run(request, key, fn)

    def fingerprint_body(self, request):
        return request.data if isinstance(request.data, dict) else {}


class RefundView(PosMoneyView):
    request_serializer = ser.RefundRequestSerializer

    @_money_schema(
        "pos_refund",
        "Refund a charge or capture, in full or in part: principal and bonus go back in proportion, "
        "the points earned and the rebate are taken back in proportion. Refund a top-up: its principal "
        "is paid back by `method` and the bonus it granted is withdrawn in proportion",
        ser.RefundRequestSerializer,
        extra_problems={422: problem("over_refund, not_refundable, cash_refund_too_large")},
    )
    def post(self, request):
        from onecard.core.errors import NotFound
        from onecard.loyalty.models.stored_value import CardTransaction, CardTxKind
        from onecard.loyalty.stored_value import services as stored_value

        key = self.idempotency_key(request)
        data = self.validated(request)
        merchant_id = self.terminal.store.merchant_id

        def fn():
            original = (
                CardTransaction.objects.select_related("card")
                .filter(_of_merchant(merchant_id), pk=data["transaction_id"])
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
                tx = stored_value.refund(
                    None,
                    original,
                    data.get("amount"),
                    store=self.terminal.store,
                    reason=data["reason"],
                    business_ref=self.business_ref,
                )
            return 200, _money_result(tx)

        return self.run(request, key, fn)


class PointsEarnView(PosMoneyView):
    request_serializer = ser.PointsEarnRequestSerializer

    @_money_schema(
        "pos_points_earn",
        "Earn points for a sale paid outside OneCard (cash, WeChat...): the merchant's earn rules apply",
        ser.PointsEarnRequestSerializer,
        response=ser.PointsEarnResultSerializer,
        extra_problems={422: problem("points_rate_missing, card_frozen, card_not_accepted_here...")},
    )
    def post(self, request):
        from onecard.loyalty.points import services as points

        key = self.idempotency_key(request)
        data = self.validated(request)

        def fn():
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

        return self.run(request, key, fn)


class RedeemView(PosMoneyView):
    request_serializer = ser.RedeemRequestSerializer

    @_money_schema(
        "pos_points_redeem",
        "Spend points of a card (the lots that expire first are spent first)",
        ser.RedeemRequestSerializer,
        response=ser.RedeemResultSerializer,
    )
    def post(self, request):
        from onecard.core.idempotency import current_idempotency_key
        from onecard.loyalty.models import JournalEntry
        from onecard.loyalty.points import services as points

        key = self.idempotency_key(request)
        data = self.validated(request)

        def fn():
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

        return self.run(request, key, fn)


class CardHistoryView(PosApiView):
    """The card's transactions, newest first, a page at a time (?page=, ?page_size= up to 200)."""

    @extend_schema(
        operation_id="pos_card_history",
        summary="The card's stored-value transactions, newest first",
        responses={
            200: ser.TransactionPageSerializer,
            404: problem("card_not_found"),
            **_AUTH_PROBLEMS,
        },
        tags=["pos"],
    )
    def get(self, request, card_no):
        from onecard.core.api import StandardPagination
        from onecard.loyalty.cards.errors import CardNotFound
        from onecard.loyalty.cards.numbers import normalize_number
        from onecard.loyalty.models import Card
        from onecard.loyalty.models.stored_value import CardTransaction

        card = Card.objects.filter(
            merchant_id=self.terminal.store.merchant_id, number=normalize_number(card_no)
        ).first()
        if card is None:
            raise CardNotFound(extra={"number": card_no[:40]})
        rows = CardTransaction.objects.filter(card=card).select_related("card").order_by("-created_at", "-pk")
        paginator = StandardPagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(ser.TransactionSerializer(page, many=True).data)
