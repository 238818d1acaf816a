"""Count and period cards (次卡 / 期限卡) on the POS API: list, sell, use and refund a card's packages.

Signed like every POS call; the money calls (sell, use, refund) take an Idempotency-Key and run
through run_idempotent scoped to the terminal (api.PosMoneyView). The terminal's store is the
store of every operation; the package services (loyalty/packages.py) do the work.
"""

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from onecard.core.api import IdField, problem
from onecard.core.errors import NotFound
from onecard.loyalty.models import MemberPackage, ServicePackage
from onecard.loyalty.packages import services as packages
from onecard.loyalty.packages.services import PackageNotFound
from onecard.pos.api.base import _AUTH_PROBLEMS, IDEMPOTENCY_HEADER, PosApiView, PosMoneyView, _read_schema
from onecard.pos.api.serializers import CardNoField
from onecard.sales import services as sales

_PACKAGE_PROBLEMS = {
    400: problem(
        "idempotency_key_required, invalid_idempotency_key, validation_error, invalid_use_count, invalid_tender, "
        "invalid_refund_method"
    ),
    404: problem("card_not_found, package_not_found"),
    409: problem("idempotency_conflict: the key was used for another request"),
    **_AUTH_PROBLEMS,
}


# ---- serializers ---------------------------------------------------------------------------------------


class PackageLineSerializer(serializers.Serializer):
    service = serializers.CharField()
    uses_total = serializers.IntegerField(allow_null=True, help_text="None for a period card (unlimited).")
    uses_left = serializers.IntegerField(allow_null=True)


class MemberPackageSerializer(serializers.Serializer):
    """One package sold to a card; amounts in fen: price = recognised + refunded + expired + outstanding."""

    id = IdField()
    name = serializers.CharField()
    kind = serializers.CharField(help_text="count (次卡) or period (期限卡)")
    status = serializers.CharField(help_text="active, used_up, refunded, expired")
    card_no = serializers.CharField(source="card.number")
    price = serializers.IntegerField()
    recognised = serializers.IntegerField(
        help_text="Fen recognised as revenue by uses (and a refund's catch-up)."
    )
    refunded = serializers.IntegerField()
    expired = serializers.IntegerField(
        source="breakage", help_text="Fen recognised when the package expired."
    )
    outstanding = serializers.IntegerField(help_text="Fen still held for the member.")
    total_uses = serializers.IntegerField(allow_null=True)
    uses_done = serializers.IntegerField()
    daily_cap = serializers.IntegerField(allow_null=True)
    valid_from = serializers.DateTimeField()
    valid_until = serializers.DateTimeField(allow_null=True, help_text="Unusable from this time on.")
    refund_method = serializers.CharField()
    lines = PackageLineSerializer(many=True)


class PackageListSerializer(serializers.Serializer):
    results = MemberPackageSerializer(many=True)


class CatalogLineSerializer(serializers.Serializer):
    service = serializers.CharField()
    uses = serializers.IntegerField(allow_null=True)


class CatalogItemSerializer(serializers.Serializer):
    id = IdField()
    name = serializers.CharField()
    kind = serializers.CharField()
    price = serializers.IntegerField()
    validity_days = serializers.IntegerField(allow_null=True)
    daily_cap = serializers.IntegerField(allow_null=True)
    lines = CatalogLineSerializer(many=True)


class CatalogSerializer(serializers.Serializer):
    results = CatalogItemSerializer(many=True)


class SellRequestSerializer(serializers.Serializer):
    card_no = CardNoField()
    package_id = IdField(help_text="The package definition sold (GET packages/catalog).")
    tender = serializers.CharField(
        max_length=20, default="cash", help_text="cash, bank_card, wechat or alipay"
    )


class UseRequestSerializer(serializers.Serializer):
    service = serializers.CharField(
        max_length=40, help_text="The service line used, as the package names it."
    )
    count = serializers.IntegerField(default=1, min_value=1, max_value=100)


class RefundPackageRequestSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200)
    method = serializers.CharField(max_length=20, default="bank", help_text="bank, cash (≤ ¥100) or original")


class PackageUseSerializer(serializers.Serializer):
    id = IdField()
    service = serializers.CharField()
    count = serializers.IntegerField()
    value = serializers.IntegerField(help_text="Fen recognised as revenue by this use (0: no journal entry).")
    entry_id = IdField(allow_null=True)
    store = IdField(source="store_id")
    created_at = serializers.DateTimeField()


class UseResultSerializer(serializers.Serializer):
    use = PackageUseSerializer()
    package = MemberPackageSerializer()


class PackageResultSerializer(serializers.Serializer):
    entry_id = IdField(help_text="The journal entry of the sale or of the refund.")
    package = MemberPackageSerializer()


# ---- views ------------------------------------------------------------------------------------------------


def _package_schema(operation_id, summary, response, extra):
    """A package money call's schema; its body is the view's request_serializer (see PosSchema)."""
    return extend_schema(
        operation_id=operation_id,
        summary=summary,
        parameters=[IDEMPOTENCY_HEADER],
        responses={200: response, **_PACKAGE_PROBLEMS, 422: problem(extra)},
        tags=["pos"],
    )


class _PackageMoneyView(PosMoneyView):
    def member_package(self, package_id):

        row = (
            MemberPackage.objects.select_related("card")
            .filter(pk=package_id, merchant_id=self.terminal.store.merchant_id)
            .first()
        )
        if row is None:
            raise PackageNotFound(extra={"package": str(package_id)})
        return row


def _fresh(member_package):

    return MemberPackage.objects.select_related("card").prefetch_related("lines").get(pk=member_package.pk)


class CardPackagesView(PosApiView):
    """The card's packages with uses left and validity; ?all=1 adds closed ones (used up, refunded, expired)."""

    @_read_schema(
        operation_id="pos_card_packages",
        summary="The count and period cards (packages) of a card",
        parameters=[OpenApiParameter("all", OpenApiTypes.BOOL, description="Include closed packages.")],
        answer=PackageListSerializer,
        problems={404: problem("card_not_found")},
    )
    def get(self, request, card_no):

        card = self.merchant_card(card_no)
        everything = request.query_params.get("all") in {"1", "true"}
        rows = packages.card_packages(card, include_closed=everything).select_related("card")
        return Response(PackageListSerializer({"results": list(rows[:100])}).data)


class PackageCatalogView(PosApiView):
    """The packages on sale at the terminal's store."""

    @_read_schema(
        operation_id="pos_package_catalog",
        summary="Packages on sale at this store (what packages/sell takes as package_id)",
        answer=CatalogSerializer,
    )
    def get(self, request):

        store = self.terminal.store
        rows = ServicePackage.objects.filter(merchant_id=store.merchant_id, is_active=True).prefetch_related(
            "lines", "stores"
        )
        return Response(CatalogSerializer({"results": [p for p in rows if p.accepts_store(store)]}).data)


class SellPackageView(PosMoneyView):
    request_serializer = SellRequestSerializer

    @_package_schema(
        "pos_package_sell",
        "Sell a count or period card (package) to a card: its price is paid at this store",
        PackageResultSerializer,
        "package_not_on_sale, package_not_accepted_here, card_frozen, card_not_accepted_here...",
    )
    def post(self, request):
        def fn(data):
            card = self.card(data["card_no"])
            package = ServicePackage.objects.filter(
                pk=data["package_id"], merchant_id=self.terminal.store.merchant_id
            ).first()
            if package is None:
                raise NotFound(code="package_not_found", message=_("No package has this id."))
            sold = packages.sell_package(
                None,
                card,
                package,
                store=self.terminal.store,
                tender=data["tender"],
                business_ref=self.business_ref,
            )
            return 200, PackageResultSerializer(
                {"entry_id": sold.sale_entry_id, "package": _fresh(sold)}
            ).data

        return self.run_once(request, fn)


class UsePackageView(_PackageMoneyView):
    request_serializer = UseRequestSerializer

    @_package_schema(
        "pos_package_use",
        "Use a package: count uses of one service; the value recognised is journalled",
        UseResultSerializer,
        "package_used_up, package_expired, package_service_unknown, package_daily_cap_reached, package_closed, "
        "package_not_accepted_here, card_frozen, card_lost...",
    )
    def post(self, request, package_id):
        def fn(data):
            use = sales.use_package(
                None,
                self.member_package(package_id),
                data["service"],
                store=self.terminal.store,
                count=data["count"],
                business_ref=self.business_ref,
            )
            return 200, UseResultSerializer({"use": use, "package": _fresh(use.member_package)}).data

        return self.run_once(request, fn)


class RefundPackageView(_PackageMoneyView):
    request_serializer = RefundPackageRequestSerializer

    @_package_schema(
        "pos_package_refund",
        "Refund what is unused of a package (pro rata, exact to the fen) and close it",
        PackageResultSerializer,
        "package_closed, package_used_up, package_expired, cash_refund_too_large, card_lost...",
    )
    def post(self, request, package_id):
        def fn(data):
            refunded = packages.refund_package(
                None,
                self.member_package(package_id),
                store=self.terminal.store,
                reason=data["reason"],
                method=data["method"],
                business_ref=self.business_ref,
            )
            body = {"entry_id": refunded.close_entry_id, "package": _fresh(refunded)}
            return 200, PackageResultSerializer(body).data

        return self.run_once(request, fn)
