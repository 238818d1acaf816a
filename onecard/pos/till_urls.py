"""The till's sale screen (收银台 开单) under /till/sale/: the sale in progress, receipts, today's sales, returns."""

from django.urls import path

from . import till_sales_views, till_views

app_name = "till_sale"
urlpatterns = [
    path("", till_views.sale, name="sale"),
    path("card/", till_views.scan_card, name="card"),
    path("card/drop/", till_views.drop_card, name="drop_card"),
    path("items/", till_views.scan_item, name="item"),
    path("items/quantity/", till_views.set_quantity, name="quantity"),
    path("items/remove/", till_views.remove_item, name="remove_item"),
    path("coupons/", till_views.add_coupon, name="coupon"),
    path("coupons/remove/", till_views.remove_coupon, name="remove_coupon"),
    path("clear/", till_views.clear, name="clear"),
    path("pay/", till_views.pay, name="pay"),
    path("receipt/<int:pk>/", till_sales_views.receipt, name="receipt"),
    path("sales/", till_sales_views.sales_today, name="sales"),
    path("sales/<int:pk>/", till_sales_views.sale_detail, name="sale_detail"),
    path("sales/<int:pk>/return/", till_sales_views.sale_return, name="sale_return"),
]
