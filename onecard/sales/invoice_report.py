"""The invoice facts report (/reports/invoices/): per store over a period, what to invoice under 601 and under
goods and services, and what must not be invoiced; the facts themselves, newest first.

Reads sales.InvoiceFact only (written by sales.invoicing), in one grouped query, scoped to the stores the
viewer sees. A period is whole local days (promotions.reports.Period).
"""

import dataclasses

from django.db.models import Sum

from onecard.core.scoping import scope
from onecard.org.models import OrgNode
from onecard.sales.models import InvoiceFact, InvoiceFactKind

SUMMED = ("invoiceable", "stored_value", "points", "package", "bonus")


@dataclasses.dataclass
class StoreInvoicing:
    """One store's figures in the period (fen); the total line has no store."""

    store: object = None
    topups: int = 0  # 601, invoiced
    topups_paid_back: int = 0  # 601, negative: red invoices
    sales: int = 0  # goods and services, invoiced
    returns: int = 0  # negative
    stored_value: int = 0  # not invoiced: paid with stored value (net of returns)
    points: int = 0
    package: int = 0
    bonus: int = 0  # bonus value granted by top-ups, net of withdrawals

    @property
    def prepaid_net(self) -> int:
        return self.topups + self.topups_paid_back

    @property
    def goods_net(self) -> int:
        return self.sales + self.returns

    @property
    def not_invoiced(self) -> int:
        return self.stored_value + self.points + self.package

    def add(self, kind, sums) -> None:
        figure = {
            InvoiceFactKind.TOPUP: "topups",
            InvoiceFactKind.TOPUP_REFUND: "topups_paid_back",
            InvoiceFactKind.SALE: "sales",
            InvoiceFactKind.SALE_RETURN: "returns",
            # a package is a prepaid card too: sold and paid back under 601 with the top-ups
            InvoiceFactKind.PACKAGE_SALE: "topups",
            InvoiceFactKind.PACKAGE_REFUND: "topups_paid_back",
        }[kind]
        setattr(self, figure, getattr(self, figure) + (sums["invoiceable"] or 0))
        for name in ("stored_value", "points", "package", "bonus"):
            setattr(self, name, getattr(self, name) + (sums[name] or 0))


@dataclasses.dataclass
class InvoiceReport:
    lines: list
    total: StoreInvoicing


def visible_facts(user, merchant, period):
    """The facts of `merchant` in `period` at the stores in the user's scope."""
    facts = InvoiceFact.objects.filter(
        merchant=merchant, occurred_at__gte=period.start, occurred_at__lt=period.end
    )
    return scope(facts, user, "store")


def invoice_report(facts) -> InvoiceReport:
    """Per store (tree order) and in total: the figures of `facts`."""
    by_store = {}
    rows = facts.values("store_id", "kind").annotate(**{name: Sum(name) for name in SUMMED}).order_by()
    for row in rows:
        by_store.setdefault(row["store_id"], StoreInvoicing()).add(row["kind"], row)
    stores = OrgNode.objects.filter(pk__in=by_store).order_by("path")
    lines = []
    total = StoreInvoicing()
    for store in stores:
        line = by_store[store.pk]
        line.store = store
        lines.append(line)
        for field in dataclasses.fields(StoreInvoicing):
            if field.name != "store":
                setattr(total, field.name, getattr(total, field.name) + getattr(line, field.name))
    return InvoiceReport(lines=lines, total=total)
