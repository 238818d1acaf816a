"""Routes of the POS API, included under /api/v1/pos/ by onecard/api_urls.py.

Paths have no trailing slash: a redirect to add one would change the signed path.
"""

from django.urls import path

from onecard.pos.api import checkout, holds, lookups, money, packages

urlpatterns = [
    path("ping", lookups.PingView.as_view(), name="pos-ping"),
    path("members/lookup", lookups.MemberLookupView.as_view(), name="pos-member-lookup"),
    path("cards/lookup", lookups.CardLookupView.as_view(), name="pos-card-lookup"),
    path("cards/<str:card_no>/history", lookups.CardHistoryView.as_view(), name="pos-card-history"),
    path("topups", money.TopupView.as_view(), name="pos-topup"),
    path("charges", money.ChargeView.as_view(), name="pos-charge"),
    path("holds", holds.HoldView.as_view(), name="pos-hold"),
    path("holds/<int:hold_id>/capture", holds.CaptureView.as_view(), name="pos-hold-capture"),
    path("holds/<int:hold_id>/void", holds.VoidView.as_view(), name="pos-hold-void"),
    path("refunds", money.RefundView.as_view(), name="pos-refund"),
    path("points/earn", money.PointsEarnView.as_view(), name="pos-points-earn"),
    path("points/redeem", money.RedeemView.as_view(), name="pos-points-redeem"),
    path("cards/<str:card_no>/packages", packages.CardPackagesView.as_view(), name="pos-card-packages"),
    path("packages/catalog", packages.PackageCatalogView.as_view(), name="pos-package-catalog"),
    path("packages/sell", packages.SellPackageView.as_view(), name="pos-package-sell"),
    path("packages/<int:package_id>/use", packages.UsePackageView.as_view(), name="pos-package-use"),
    path(
        "packages/<int:package_id>/refund",
        packages.RefundPackageView.as_view(),
        name="pos-package-refund",
    ),
    path("checkout/quote", checkout.QuoteView.as_view(), name="pos-checkout-quote"),
    path("checkout", checkout.CheckoutView.as_view(), name="pos-checkout"),
    path("sales/<str:business_ref>", checkout.SaleView.as_view(), name="pos-sale"),
    path("sales/<str:business_ref>/returns", checkout.SaleReturnView.as_view(), name="pos-sale-return"),
]
