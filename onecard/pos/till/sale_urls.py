"""The till's sale screen (收银台 开单) under /till/sale/: the sale in progress, receipts, today's sales, returns."""

from django.urls import path

from onecard.pos.till import sale, sales

app_name = "till_sale"
urlpatterns = [
    path("", sale.sale, name="sale"),
    path("card/", sale.scan_card, name="card"),
    path("card/drop/", sale.drop_card, name="drop_card"),
    path("items/", sale.scan_item, name="item"),
    path("products/", sale.search_products, name="products"),
    path("items/quantity/", sale.set_quantity, name="quantity"),
    path("items/remove/", sale.remove_item, name="remove_item"),
    path("coupons/", sale.add_coupon, name="coupon"),
    path("coupons/remove/", sale.remove_coupon, name="remove_coupon"),
    path("clear/", sale.clear, name="clear"),
    path("pay/", sale.pay, name="pay"),
    path("receipt/<int:pk>/", sales.receipt, name="receipt"),
    path("sales/", sales.sales_today, name="sales"),
    path("sales/<int:pk>/", sales.sale_detail, name="sale_detail"),
    path("sales/<int:pk>/return/", sales.sale_return, name="sale_return"),
]
