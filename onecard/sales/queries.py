"""Reads of sales used by more than one view: the checkouts the till and the POS API show, a member's purchases."""

from django.db.models import Prefetch

from onecard.sales.models import Sale, SaleKind, SaleLine


def checkout_sales():
    """The sales made by a checkout (the till's and the POS API's sale pages show only these)."""
    return Sale.objects.filter(kind=SaleKind.CHECKOUT)


def member_sales(member):
    """The member's sales, newest first, with their store and their lines in order (a query for the lines)."""
    return (
        Sale.objects.filter(member=member)
        .select_related("store")
        .prefetch_related(Prefetch("lines", queryset=SaleLine.objects.order_by("pk")))
        .order_by("-created_at", "-id")
    )
