"""Routes of the POS API, included under /api/v1/pos/ by core.api_urls.

Paths have no trailing slash: a redirect to add one would change the signed path.
"""

from django.urls import path

from . import api, api_checkout, api_packages

urlpatterns = [
    path("ping", api.PingView.as_view(), name="pos-ping"),
    path("members/lookup", api.MemberLookupView.as_view(), name="pos-member-lookup"),
    path("cards/lookup", api.CardLookupView.as_view(), name="pos-card-lookup"),
    path("cards/<str:card_no>/history", api.CardHistoryView.as_view(), name="pos-card-history"),
    path("topups", api.TopupView.as_view(), name="pos-topup"),
    path("charges", api.ChargeView.as_view(), name="pos-charge"),
    path("holds", api.HoldView.as_view(), name="pos-hold"),
    path("holds/<int:hold_id>/capture", api.CaptureView.as_view(), name="pos-hold-capture"),
    path("holds/<int:hold_id>/void", api.VoidView.as_view(), name="pos-hold-void"),
    path("refunds", api.RefundView.as_view(), name="pos-refund"),
    path("points/earn", api.PointsEarnView.as_view(), name="pos-points-earn"),
    path("points/redeem", api.RedeemView.as_view(), name="pos-points-redeem"),
    path("cards/<str:card_no>/packages", api_packages.CardPackagesView.as_view(), name="pos-card-packages"),
    path("packages/catalog", api_packages.PackageCatalogView.as_view(), name="pos-package-catalog"),
    path("packages/sell", api_packages.SellPackageView.as_view(), name="pos-package-sell"),
    path("packages/<int:package_id>/use", api_packages.UsePackageView.as_view(), name="pos-package-use"),
    path(
        "packages/<int:package_id>/refund",
        api_packages.RefundPackageView.as_view(),
        name="pos-package-refund",
    ),
    path("checkout/quote", api_checkout.QuoteView.as_view(), name="pos-checkout-quote"),
    path("checkout", api_checkout.CheckoutView.as_view(), name="pos-checkout"),
    path("sales/<str:business_ref>", api_checkout.SaleView.as_view(), name="pos-sale"),
    path("sales/<str:business_ref>/returns", api_checkout.SaleReturnView.as_view(), name="pos-sale-return"),
]
