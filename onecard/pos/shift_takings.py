"""What a cashier took at a store in a time window, per tender: the figures of a shift and of a store's day.

Read from the one purchase history and the card's money records, never from the shift itself:
- sales: each sale's tenders (sales.SaleTender), by the sale's actor, store and time;
- returns: each return's tenders (sales.SaleReturn.tenders; a refund of a plain charge is a return of its
  sale), by the return's actor, store and time (a return of yesterday's sale counts today);
- top-ups: loyalty CardTransaction `topup`, principal by its tender (the bonus is not money taken);
- package sales: loyalty MemberPackage, price by its tender;
- prepaid paid back: top-up refunds and a cancelled card's payout (CardTransaction `refund` of a top-up or
  of no original), package refunds (MemberPackage refunded, by its close entry's actor and store); by the
  refund method: "bank" is a transfer to the holder's account, "original" the way the top-up or package
  was paid (a cancel payout has none and stays "original").
All amounts are fen; a points tender counts its cash value (its points are in `points`).
"""

import dataclasses

from django.db.models import Count, Q, Sum
from django.utils.translation import gettext_lazy as _

from onecard.loyalty.models import CardTransaction, MemberPackage
from onecard.loyalty.models.stored_value import CardTxKind
from onecard.sales.models import SaleKind, SaleReturn, SaleTender, TenderKind

# Tenders in the order the report lists them; "bank" and "original" only pay prepaid value back.
TENDER_LABELS = {
    TenderKind.CASH: _("Cash"),
    TenderKind.WECHAT: _("WeChat Pay"),
    TenderKind.ALIPAY: _("Alipay"),
    TenderKind.BANK_CARD: _("Bank card"),
    TenderKind.STORED_VALUE: _("Stored value"),
    TenderKind.POINTS: _("Points"),
    TenderKind.PACKAGE: _("Package"),
    "bank": _("Bank transfer"),
    "original": _("Original payment"),
}
FIGURES = ("sales", "returns", "topups", "package_sales", "paid_back")


@dataclasses.dataclass
class TenderTakings:
    """One tender's figures in the window (fen): taken by sales, top-ups and package sales, given back."""

    tender: str
    sales: int = 0
    returns: int = 0
    topups: int = 0
    package_sales: int = 0
    paid_back: int = 0

    @property
    def label(self) -> str:
        return str(TENDER_LABELS.get(self.tender, self.tender))

    @property
    def net(self) -> int:
        """What the tender holds for the window: taken less given back."""
        return self.sales - self.returns + self.topups + self.package_sales - self.paid_back


@dataclasses.dataclass
class Takings:
    """Per-tender figures and counts of a window; `as_data()` is what a closed shift keeps."""

    rows: dict = dataclasses.field(default_factory=dict)
    counts: dict = dataclasses.field(default_factory=dict)
    points: int = 0  # points spent as a tender

    def row(self, tender) -> TenderTakings:
        tender = str(tender or "original")
        if tender not in self.rows:
            self.rows[tender] = TenderTakings(tender)
        return self.rows[tender]

    def add(self, tender, figure, amount) -> None:
        row = self.row(tender)
        setattr(row, figure, getattr(row, figure) + int(amount or 0))

    @property
    def lines(self) -> list[TenderTakings]:
        """The rows in the report's order: known tenders first, then any other."""
        order = list(TENDER_LABELS)
        return sorted(
            self.rows.values(), key=lambda r: (order.index(r.tender) if r.tender in order else 99, r.tender)
        )

    @property
    def cash(self) -> int:
        return self.rows[TenderKind.CASH].net if TenderKind.CASH in self.rows else 0

    @property
    def total(self) -> TenderTakings:
        total = TenderTakings("total")
        for row in self.rows.values():
            for figure in FIGURES:
                setattr(total, figure, getattr(total, figure) + getattr(row, figure))
        return total

    @property
    def is_empty(self) -> bool:
        return not any(self.counts.values())

    def as_data(self) -> dict:
        return {
            "rows": [{"tender": r.tender, **{f: getattr(r, f) for f in FIGURES}} for r in self.lines],
            "counts": dict(self.counts),
            "points": self.points,
        }

    @classmethod
    def from_data(cls, data) -> "Takings":
        takings = cls(counts=dict((data or {}).get("counts") or {}), points=(data or {}).get("points", 0))
        for row in (data or {}).get("rows", []):
            takings.rows[row["tender"]] = TenderTakings(row["tender"], **{f: row.get(f, 0) for f in FIGURES})
        return takings

    def merge(self, other: "Takings") -> None:
        """Add `other`'s figures to these (the day's total of several shifts)."""
        for row in other.rows.values():
            for figure in FIGURES:
                self.add(row.tender, figure, getattr(row, figure))
        for name, count in other.counts.items():
            self.counts[name] = self.counts.get(name, 0) + count
        self.points += other.points


@dataclasses.dataclass(frozen=True)
class Window:
    """Whose takings at which store, from `start` (included) to `end` (excluded); no cashier: every one."""

    store_id: int
    start: object
    end: object
    cashier_id: int | None = None

    def where(self, store="store_id", actor="actor_id", at="created_at") -> Q:
        q = Q(**{store: self.store_id, f"{at}__gte": self.start, f"{at}__lt": self.end})
        return q & Q(**{actor: self.cashier_id}) if self.cashier_id is not None else q


def takings(window: Window) -> Takings:
    """Every figure of the window (module doc), in seven grouped queries and one pass over the returns."""
    result = Takings()
    _sales(result, window)
    _returns(result, window)
    _topups(result, window)
    _packages(result, window)
    return result


def _sales(result, window):
    # An imported sale has no tenders; excluded by name all the same, since it took no money at this till.
    tenders = SaleTender.objects.filter(
        window.where("sale__store_id", "sale__actor_id", "sale__created_at")
    ).exclude(sale__kind=SaleKind.IMPORTED)
    for row in tenders.values("kind").annotate(amount=Sum("amount"), points=Sum("points")):
        result.add(row["kind"], "sales", row["amount"])
        result.points += row["points"] or 0
    result.counts["sales"] = tenders.values("sale_id").distinct().count()


def _returns(result, window):
    returns = SaleReturn.objects.filter(window.where()).only("tenders")
    count = 0
    for sale_return in returns:
        count += 1
        for tender in sale_return.tenders or []:
            result.add(tender.get("kind"), "returns", tender.get("amount"))
    result.counts["returns"] = count


def _topups(result, window):
    topups = CardTransaction.objects.filter(window.where(), kind=CardTxKind.TOPUP)
    for row in topups.values("tender").annotate(amount=Sum("amount"), n=Count("id")):
        result.add(row["tender"] or TenderKind.CASH, "topups", row["amount"])
        result.counts["topups"] = result.counts.get("topups", 0) + row["n"]
    paid_back = CardTransaction.objects.filter(window.where(), kind=CardTxKind.REFUND).filter(
        Q(original__isnull=True) | Q(original__kind=CardTxKind.TOPUP)
    )
    for row in paid_back.values("tender", "original__tender").annotate(amount=Sum("amount"), n=Count("id")):
        tender = (
            row["original__tender"]
            if row["tender"] == "original" and row["original__tender"]
            else row["tender"]
        )
        result.add(tender, "paid_back", row["amount"])
        result.counts["paid_back"] = result.counts.get("paid_back", 0) + row["n"]


def _packages(result, window):
    sold = MemberPackage.objects.filter(window.where())
    for row in sold.values("tender").annotate(amount=Sum("price"), n=Count("id")):
        result.add(row["tender"], "package_sales", row["amount"])
        result.counts["package_sales"] = result.counts.get("package_sales", 0) + row["n"]
    refunded = MemberPackage.objects.filter(
        window.where("close_entry__node_id", "close_entry__actor_id", "closed_at"), refunded__gt=0
    )
    for row in refunded.values("refund_method", "tender").annotate(amount=Sum("refunded"), n=Count("id")):
        tender = row["tender"] if row["refund_method"] == "original" else row["refund_method"]
        result.add(tender, "paid_back", row["amount"])
        result.counts["paid_back"] = result.counts.get("paid_back", 0) + row["n"]
