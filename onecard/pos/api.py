"""The POS terminal API under /api/v1/pos/: every request signed by a registered terminal.

Views are thin: the terminal and its store come from `request.auth`; reads are limited to the
terminal's merchant. Money calls (next step) take an Idempotency-Key and run through
core.idempotency.run_idempotent, scoped to the terminal.
"""

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

from .authentication import AUTH_SCHEME, IsSignedTerminal, TerminalSignatureAuthentication

LOOKUP_LIMIT = 20

_AUTH_PROBLEMS = {
    401: problem(
        "not_authenticated (no X-Terminal-Id), invalid_terminal, invalid_signature, stale_timestamp, "
        "replayed_nonce"
    )
}


class PosSchema(ProblemAutoSchema):
    """A terminal holds no permission codes: no 403 in the POS answers."""

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
