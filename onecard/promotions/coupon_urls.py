"""Coupon pages under /coupons/."""

from django.urls import path

from . import coupon_views

app_name = "coupons"
urlpatterns = [
    path("", coupon_views.template_list, name="templates"),
    path("templates/new/", coupon_views.template_form, name="template_new"),
    path("templates/<int:pk>/", coupon_views.template_form, name="template_edit"),
    path("templates/<int:pk>/issue/", coupon_views.issue, name="issue"),
    path("list/", coupon_views.coupon_list, name="list"),
    path("c/<str:code>/", coupon_views.coupon_detail, name="coupon"),
    path("c/<str:code>/void/", coupon_views.coupon_void, name="coupon_void"),
]
