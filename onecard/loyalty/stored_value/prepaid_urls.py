"""The prepaid-card rules (单用途商业预付卡) under /prepaid/."""

from django.urls import path

from onecard.loyalty.stored_value import prepaid_views as views

app_name = "prepaid"
urlpatterns = [
    path("", views.settings_page, name="settings"),
    path("stores/<int:pk>/", views.store_status, name="store_status"),
    path("agreements/", views.agreements, name="agreements"),
    path("agreement/accept/<int:member_id>/", views.accept, name="accept"),
    path("refund-quote/<int:card_id>/", views.refund_quote, name="refund_quote"),
]
