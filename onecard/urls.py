"""URL map: the web UI per app, the REST API under /api/v1/, Django's admin for rare configuration.

The map is wiring: it names every app's pages, so it lives in the project package (an app's urls.py lists
only its own pages). A new app's pages are included here.
"""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from onecard import home
from onecard.core import api_views
from onecard.org.account_views import LoginView, PasswordChangeView, profile, till_login_view, till_pin
from onecard.org.second_factor_views import enrol, my_sessions, verify

urlpatterns = [
    path("", home.home, name="home"),
    path("login/", LoginView.as_view(), name="login"),
    path("login/till/", till_login_view, name="till_login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/", profile, name="profile"),
    path("login/verify/", verify, name="second_factor_verify"),
    path("account/two-factor/", enrol, name="second_factor_enrol"),
    path("account/sessions/", my_sessions, name="my_sessions"),
    path("account/till-pin/", till_pin, name="till_pin"),
    path("password/", PasswordChangeView.as_view(), name="password_change"),
    path("password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("audit/", include("onecard.core.urls")),
    path("org/", include("onecard.org.urls")),
    path("members/", include("onecard.members.urls")),
    path("pos/", include("onecard.pos.urls")),
    path("till/sale/", include("onecard.pos.till.sale_urls")),
    path("till/packages/definitions/", include("onecard.loyalty.packages.urls")),
    path("till/", include("onecard.pos.till.urls")),
    path("prepaid/", include("onecard.loyalty.stored_value.prepaid_urls")),
    path("cards/", include("onecard.loyalty.cards.urls")),
    path("reports/promotions/", include("onecard.sales.report_urls")),
    path("reports/invoices/", include("onecard.sales.invoice_urls")),
    path("sales/import/", include("onecard.sales.import_urls")),
    path("reports/", include("onecard.loyalty.stored_value.liability_urls")),
    path("settlement/", include("onecard.loyalty.settlement.urls")),
    path("coupons/", include("onecard.promotions.coupon_urls")),
    path("promotions/", include("onecard.promotions.promotion_urls")),
    path("catalog/", include("onecard.catalog.urls")),
    path("analytics/value/", include("onecard.analytics.value.urls")),
    path("analytics/basket/", include("onecard.analytics.basket.urls")),
    path("analytics/dashboards/", include("onecard.analytics.dashboards.urls")),
    path("analytics/cohorts/", include("onecard.analytics.cohorts.urls")),
    path("analytics/roi/", include("onecard.analytics.roi.urls")),
    path("analytics/reports/", include("onecard.analytics.report_builder.urls")),
    path("analytics/", include("onecard.analytics.urls")),
    path("api/v1/", include("onecard.api_urls")),
    path("admin/", admin.site.urls),
    # Pages without an icon link (the admin, the API docs) make the browser ask for /favicon.ico.
    path("favicon.ico", RedirectView.as_view(url=static("onecard/favicon.svg"))),
]

# Under /api/ a missing route or a server error answers problem+json, never an HTML page.
handler404 = api_views.page_not_found
handler500 = api_views.server_error
