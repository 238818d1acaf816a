"""Routes of the POS API, included under /api/v1/pos/ by core.api_urls.

Paths have no trailing slash: a redirect to add one would change the signed path.
"""

from django.urls import path

from . import api

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
    path("points/redeem", api.RedeemView.as_view(), name="pos-points-redeem"),
]
