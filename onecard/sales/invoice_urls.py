"""The invoice facts report under /reports/invoices/."""

from django.urls import path

from . import invoice_views

app_name = "invoice_reports"
urlpatterns = [
    path("", invoice_views.report, name="report"),
]
