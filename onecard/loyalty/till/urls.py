"""The cashier screen (收银台) under /till/."""

from django.urls import path

from onecard.loyalty.packages import views as package_views
from onecard.loyalty.till import views

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
    path("packages/panel/", package_views.panel, name="packages_panel"),
    path("packages/sell/", package_views.sell, name="package_sell"),
    path("packages/use/", package_views.use, name="package_use"),
    path("packages/refund/", package_views.refund, name="package_refund"),
    path("packages/definitions/", package_views.definitions, name="package_definitions"),
    path("packages/definitions/new/", package_views.definition_form, name="package_definition_new"),
    path("packages/definitions/<int:pk>/", package_views.definition_form, name="package_definition_edit"),
    path(
        "packages/definitions/<int:pk>/deactivate/",
        package_views.definition_deactivate,
        name="package_definition_deactivate",
    ),
]
