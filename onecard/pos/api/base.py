"""The base of the POS API views: signed terminals only, JSON in, problem+json out, and the money calls'
idempotency (an Idempotency-Key, scoped to the terminal, through core.idempotency.run_idempotent)."""

from django.db.models import Q
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
from onecard.core.idempotency import InvalidIdempotencyKey, run_idempotent
from onecard.core.problems import PROBLEM_CONTENT_TYPE
from onecard.loyalty.cards.errors import CardNotFound
from onecard.loyalty.cards.numbers import normalize_number
from onecard.loyalty.cards.services import card_balances, resolve_card
from onecard.loyalty.ledger.choices import AccountKind
from onecard.loyalty.models import Card
from onecard.pos.api import serializers as ser
from onecard.pos.authentication import AUTH_SCHEME, IsSignedTerminal, TerminalSignatureAuthentication

LOOKUP_LIMIT = 20

_AUTH_PROBLEMS = {
    401: problem(
        "not_authenticated (no X-Terminal-Id), invalid_terminal, invalid_signature, stale_timestamp, "
        "replayed_nonce"
    )
}


_REPLAYED = {
    "description": "Money calls: false on the first answer run under the Idempotency-Key (success or a refusal "
    "stored with the key: 404, 422), true on every retry of it. Absent when the call was refused before the "
    "key was used (400, 401, 403 card password, 409 idempotency_conflict).",
    "schema": {"type": "string", "enum": ["true", "false"]},
}
# The answers of a money call that come out of the idempotent run; the others are given before it.
_RUN_ANSWERS = ("200", "201", "404", "422")


class PosSchema(ProblemAutoSchema):
    """A terminal holds no permission codes: no generic 403 in the POS answers (card passwords add theirs).

    Money calls (those taking an Idempotency-Key) document the Idempotent-Replayed header of their answers.
    """

    def _problem_codes(self):
        return [c for c in super()._problem_codes() if c != "403"]

    def get_request_serializer(self):
        # A money call declares its body once, as the view's request_serializer (None: no body).
        return getattr(self.view, "request_serializer", None)

    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        keyed = operation and any(p.get("name") == "Idempotency-Key" for p in operation.get("parameters", []))
        if keyed:
            for code, answer in operation["responses"].items():
                if code in _RUN_ANSWERS:
                    answer.setdefault("headers", {})["Idempotent-Replayed"] = _REPLAYED
        return operation


class PosApiView(APIView):
    """Base of the POS endpoints: signed terminals only, JSON in, problem+json out."""

    authentication_classes = [TerminalSignatureAuthentication]
    permission_classes = [IsSignedTerminal]
    parser_classes = [JSONParser]
    throttle_classes = []
    schema = PosSchema()
    # The body a call takes (None: none); validated() checks it, PosSchema documents it.
    request_serializer = None

    @property
    def terminal(self):
        return self.request.auth

    def validated(self, request) -> dict:
        if not isinstance(request.data, dict):
            raise ValidationFailed({"non_field_errors": [_("Send a JSON object.")]})
        serializer = self.request_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def merchant_card(self, card_no):
        """The card of the terminal's merchant with this printed number, else card_not_found."""
        # The reads answer by printed number only, any status, only the merchant's own cards (unlike
        # resolve_card, which also takes an RFID UID or a QR, finds alliance cards and refuses a frozen one).
        card = Card.objects.filter(
            merchant_id=self.terminal.store.merchant_id, number=normalize_number(card_no)
        ).first()
        if card is None:
            raise CardNotFound(extra={"number": card_no[:40]})
        return card

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
_BEFORE_THE_KEY = (
    " Refused before the key is used: nothing stored, fix the body and resend with the same key."
)
_STORED = " Stored with the key and answered again on every retry of it."
_MONEY_PROBLEMS = {
    400: problem(
        "idempotency_key_required, invalid_idempotency_key, invalid_amount, invalid_points, validation_error."
        + _BEFORE_THE_KEY
    ),
    404: problem("card_not_found, transaction_not_found, hold_not_found." + _STORED),
    409: problem(
        "idempotency_conflict: the key was used for another request (no Idempotent-Replayed header)"
    ),
    422: problem("insufficient_balance, insufficient_points." + _STORED),
    **_AUTH_PROBLEMS,
}


def _of_merchant(merchant_id):
    """A card transaction of this merchant: made at one of its stores, or on one of its cards."""

    return Q(store__merchant_id=merchant_id) | Q(card__merchant_id=merchant_id)


def _balances(card) -> dict:

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

    @property
    def business_ref(self) -> str:
        return f"pos:{self.terminal.terminal_id}"

    def idempotency_key(self, request) -> str:

        key = request.headers.get("Idempotency-Key", "")
        if not key:
            raise InvalidIdempotencyKey(
                code="idempotency_key_required", message=_("An idempotency key is required.")
            )
        return key

    def fingerprint_body(self, request) -> dict:
        """What a retry must repeat; the card password is left out (a hash of a short PIN would leak it)."""
        return {k: v for k, v in request.data.items() if k != "password"}

    def run_once(self, request, work):
        """The key, then the validated body, then `work(data)` run once per key (a retry gets the stored answer)."""
        key = self.idempotency_key(request)
        data = self.validated(request)
        return self.run(request, key, lambda: work(data))

    def run(self, request, key, fn):

        fingerprint = {"method": request.method, "path": request.path, "body": self.fingerprint_body(request)}
        result = run_idempotent(key, fingerprint, fn, scope=f"terminal:{self.terminal.pk}")
        response = Response(result.body, status=result.status)
        if result.status >= 400:
            response.content_type = PROBLEM_CONTENT_TYPE
        response["Idempotent-Replayed"] = "true" if result.replayed else "false"
        return response

    def card(self, card_no):

        return resolve_card(card_no, store=self.terminal.store)


def _read_schema(operation_id, summary, answer, problems=None, **more):
    """The schema of a call that writes nothing: its 200 answer, its own problems, the signature problems."""
    return extend_schema(
        operation_id=operation_id,
        summary=summary,
        responses={200: answer, **(problems or {}), **_AUTH_PROBLEMS},
        tags=["pos"],
        **more,
    )


def _money_schema(operation_id, summary, response=None, extra_problems=None, parameters=()):
    """A money call's schema; its body is the view's request_serializer (see PosSchema)."""
    return extend_schema(
        operation_id=operation_id,
        summary=summary,
        parameters=[IDEMPOTENCY_HEADER, *parameters],
        responses={
            200: response or ser.MoneyResultSerializer,
            **_MONEY_PROBLEMS,
            **(extra_problems or {}),
        },
        tags=["pos"],
    )
