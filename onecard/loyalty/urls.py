"""The cashier screen (收银台) under /till/."""

from django.urls import path

from . import views

app_name = "loyalty"
urlpatterns = [
    path("", views.cashier, name="cashier"),
    path("store/", views.choose_store, name="choose_store"),
    path("lookup/", views.lookup, name="lookup"),
    path("quote/", views.charge_quote, name="charge_quote"),
    path("topup/", views.topup, name="topup"),
    path("charge/", views.charge, name="charge"),
    path("refund/", views.refund, name="refund"),
    path("redeem/", views.redeem, name="redeem"),
    path("receipt/<int:pk>/", views.receipt, name="receipt"),
]
