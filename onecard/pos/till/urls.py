"""The cashier screen (收银台) under /till/: a card's money and its count and period cards."""

from django.urls import path

from onecard.pos.till import cards as views
from onecard.pos.till import packages as package_views

app_name = "till"
urlpatterns = [
    path("", views.cashier, name="cashier"),
    path("store/", views.choose_store, name="choose_store"),
    path("lookup/", views.lookup, name="lookup"),
    path("quote/", views.charge_quote, name="charge_quote"),
    path("topup/", views.topup, name="topup"),
    path("charge/", views.charge, name="charge"),
    path("refund/", views.refund, name="refund"),
    path("redeem/", views.redeem, name="redeem"),
    path("void/", views.void, name="void"),
    path("receipt/<int:pk>/", views.receipt, name="receipt"),
    path("packages/panel/", package_views.panel, name="packages_panel"),
    path("packages/sell/", package_views.sell, name="package_sell"),
    path("packages/use/", package_views.use, name="package_use"),
    path("packages/refund/", package_views.refund, name="package_refund"),
]
