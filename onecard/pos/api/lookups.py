"""Reads of the POS API: ping, member and card lookups, a card's history (never by phone for cards)."""

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.response import Response

from onecard.core.api import IdField, MaskedField, StandardPagination, problem
from onecard.core.errors import ValidationFailed
from onecard.core.masking import mask_phone
from onecard.loyalty.cards import qr
from onecard.loyalty.cards.errors import CardNotFound
from onecard.loyalty.cards.numbers import is_valid_number, normalize_number
from onecard.loyalty.models import Card
from onecard.loyalty.models.stored_value import CardTransaction, CardTxKind, CardTxStatus
from onecard.loyalty.points.services import available_points
from onecard.loyalty.tiers.services import member_tier
from onecard.members.choices import MemberStatus
from onecard.members.models import Member
from onecard.members.queries import search_condition
from onecard.pos.api import serializers as ser
from onecard.pos.api.base import (
    LOOKUP_LIMIT,
    PosApiView,
    StoreBriefSerializer,
    TerminalBriefSerializer,
    _balances,
    _read_schema,
    _usable_here,
)


class PingSerializer(serializers.Serializer):
    terminal = TerminalBriefSerializer()
    store = StoreBriefSerializer()
    server_time = serializers.DateTimeField(help_text="The server clock; sign with a timestamp within 300 s.")


class PingView(PosApiView):
    """Answers who the server thinks is calling, from which store, and its clock: the first call to try."""

    @_read_schema(
        operation_id="pos_ping",
        summary="Check the signature set-up: which terminal and store the server sees, and its clock",
        answer=PingSerializer,
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
    phone_masked = MaskedField(mask_phone, "phone")


class LookupSerializer(serializers.Serializer):
    results = PosMemberSerializer(many=True)
    truncated = serializers.BooleanField(help_text=f"True when more than {LOOKUP_LIMIT} members match.")


class MemberLookupView(PosApiView):
    """Members of the terminal's merchant (any store: a card works chain-wide), phones masked, at most 20."""

    @_read_schema(
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
        answer=LookupSerializer,
        problems={400: problem("validation_error: q is missing")},
    )
    def get(self, request):

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


class CardLookupView(PosApiView):
    """A card by number, RFID or dynamic QR, or every usable card of the member with this phone."""

    @_read_schema(
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
        answer=ser.CardLookupSerializer,
        problems={
            400: problem("validation_error: q is missing; qr_invalid"),
            404: problem("card_not_found"),
            409: problem("qr_replayed"),
            422: problem("qr_expired"),
        },
    )
    def get(self, request):

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


class CardHistoryView(PosApiView):
    """The card's transactions, newest first, a page at a time (?page=, ?page_size= up to 200)."""

    @_read_schema(
        operation_id="pos_card_history",
        summary="The card's stored-value transactions, newest first",
        parameters=[
            OpenApiParameter("page", int, description="From 1; past the last page: 404 not_found."),
            OpenApiParameter(
                "page_size",
                int,
                description="1-200, default 50; a bigger one gives 200, a bad one the default.",
            ),
        ],
        answer=ser.TransactionPageSerializer,
        problems={
            404: problem("card_not_found; not_found for a page past the last"),
        },
    )
    def get(self, request, card_no):

        card = self.merchant_card(card_no)
        rows = CardTransaction.objects.filter(card=card).select_related("card").order_by("-created_at", "-pk")
        paginator = StandardPagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(ser.TransactionSerializer(page, many=True).data)
