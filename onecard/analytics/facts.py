"""Per-member facts kept current as sales, returns and top-ups are recorded, and rebuilt from them.

The sales services announce each sale and return (onecard.sales.signals) inside their transaction; the
receivers here add it to the member's facts, month, store and product rows with upserts, so a refused
sale leaves no trace and a committed one is counted once. On PostgreSQL the upserts of one sale go as
ONE statement (data-modifying CTEs): a checkout pays one round trip for its analytics. Top-ups are heard
through their invoice fact (sales.invoicing), whose `invoiceable` is the principal paid in or out.

`rebuild` (analytics.rebuild, in SQL) recomputes the same rows from the sales and invoice facts; a test
checks that both agree.
Visits count the days with a purchase: a live sale is a new visit when its local date differs from the
member's last visit, so sales imported with past dates rebuild their members instead.
"""

import datetime
from collections import defaultdict

from django.db import connection
from django.db.models import F
from django.db.models.signals import post_save
from django.utils import timezone

from onecard.analytics.models import MemberFacts, MemberMonth, MemberProductFacts, MemberStoreFacts
from onecard.analytics.rebuild import FACT_COLUMNS, RebuildCounts, rebuild
from onecard.sales import signals as sale_signals
from onecard.sales.models import InvoiceFact, InvoiceFactKind

FACTS = MemberFacts._meta.db_table
MONTHS = MemberMonth._meta.db_table
STORES = MemberStoreFacts._meta.db_table
PRODUCTS = MemberProductFacts._meta.db_table
TOPUP_FACT_KINDS = (InvoiceFactKind.TOPUP, InvoiceFactKind.TOPUP_REFUND)

# The columns a new facts row starts with besides those an upsert names (scores are written by scoring).
_FACTS_DEFAULTS = {
    "purchases": 0,
    "visits": 0,
    "spend": 0,
    "returned": 0,
    "items": 0,
    "topups": 0,
    "topup_amount": 0,
    "window_purchases": 0,
    "window_spend": 0,
    "rfm_class": "",
    "abcd_class": "",
    "life_stage": "",
    "favourites_due": True,
}


def local_day(moment) -> datetime.date:
    """The shop's calendar day of a stored (UTC) time."""
    return timezone.localtime(moment).date()


def _dt(value):
    return connection.ops.adapt_datetimefield_value(value)


def _d(value):
    return connection.ops.adapt_datefield_value(value)


def _upsert(table, values: dict, conflict: tuple, updates: dict) -> tuple[str, list]:
    """INSERT one row, or on conflict apply `updates` (SQL over `t`, the row, and `excluded`)."""
    columns = ", ".join(values)
    marks = ", ".join(["%s"] * len(values))
    sets = ", ".join(f"{name} = {expression}" for name, expression in updates.items())
    sql = (
        f"INSERT INTO {table} AS t ({columns}) VALUES ({marks}) "  # noqa: S608 - names from the models, values bound
        f"ON CONFLICT ({', '.join(conflict)}) DO UPDATE SET {sets}"
    )
    return sql, list(values.values())


def _upsert_many(table, rows: list[dict], conflict: tuple, updates: dict) -> tuple[str, list]:
    """One INSERT of several rows (their conflict keys distinct) with the same `updates` on conflict."""
    columns = list(rows[0])
    marks = ", ".join("(" + ", ".join(["%s"] * len(columns)) + ")" for _ in rows)
    sets = ", ".join(f"{name} = {expression}" for name, expression in updates.items())
    sql = (
        f"INSERT INTO {table} AS t ({', '.join(columns)}) VALUES {marks} "  # noqa: S608 - names from the models, values bound
        f"ON CONFLICT ({', '.join(conflict)}) DO UPDATE SET {sets}"
    )
    return sql, [row[name] for row in rows for name in columns]


def _run(statements: list[tuple[str, list]]) -> None:
    """Run the upserts: as one statement of CTEs on PostgreSQL, one by one elsewhere."""
    if not statements:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and len(statements) > 1:
            *first, (last_sql, last_params) = statements
            ctes = ", ".join(f"w{i} AS ({sql} RETURNING 1)" for i, (sql, _params) in enumerate(first))
            params = [p for _sql, ps in first for p in ps] + last_params
            cursor.execute(f"WITH {ctes} {last_sql}", params)
        else:
            for sql, params in statements:
                cursor.execute(sql, params)


_NEW_VISIT = (
    "CASE WHEN t.last_visit_day IS NULL OR t.last_visit_day <> excluded.last_visit_day THEN 1 ELSE 0 END"
)


def _sale_statements(sale, lines) -> list[tuple[str, list]]:
    """The upserts that add one new sale to its member's facts, month, store and products."""
    day = local_day(sale.created_at)
    at = _dt(sale.created_at)
    due = sale.total_due - sale.returned_due
    items = sum(line.quantity for line in lines if not line.gift)
    facts = _upsert(
        FACTS,
        {
            **_FACTS_DEFAULTS,
            "member_id": sale.member_id,
            "merchant_id": sale.merchant_id,
            "first_purchase_at": at,
            "last_purchase_at": at,
            "last_visit_day": _d(day),
            "purchases": 1,
            "visits": 1,
            "spend": due,
            "items": items,
        },
        ("member_id",),
        {
            "first_purchase_at": "CASE WHEN t.first_purchase_at IS NULL OR t.first_purchase_at > "
            "excluded.first_purchase_at THEN excluded.first_purchase_at ELSE t.first_purchase_at END",
            "last_purchase_at": "CASE WHEN t.last_purchase_at IS NULL OR t.last_purchase_at < "
            "excluded.last_purchase_at THEN excluded.last_purchase_at ELSE t.last_purchase_at END",
            "visits": f"t.visits + {_NEW_VISIT}",
            "last_visit_day": "excluded.last_visit_day",
            "purchases": "t.purchases + 1",
            "spend": "t.spend + excluded.spend",
            "items": "t.items + excluded.items",
            "favourites_due": "TRUE",
        },
    )
    month = _upsert(
        MONTHS,
        {
            "member_id": sale.member_id,
            "merchant_id": sale.merchant_id,
            "month": _d(day.replace(day=1)),
            "purchases": 1,
            "visits": 1,
            "spend": due,
            "last_visit_day": _d(day),
        },
        ("member_id", "month"),
        {
            "visits": f"t.visits + {_NEW_VISIT}",
            "last_visit_day": "excluded.last_visit_day",
            "purchases": "t.purchases + 1",
            "spend": "t.spend + excluded.spend",
        },
    )
    store = _upsert(
        STORES,
        {"member_id": sale.member_id, "store_id": sale.store_id, "purchases": 1, "spend": due},
        ("member_id", "store_id"),
        {"purchases": "t.purchases + 1", "spend": "t.spend + excluded.spend"},
    )
    statements = [facts, month, store]
    bought = _product_totals((line.product_id, line.quantity, line.due) for line in lines if not line.gift)
    if bought:
        rows = [
            {"member_id": sale.member_id, "product_id": pk, "quantity": q, "spend": s, "last_bought_at": at}
            for pk, (q, s) in sorted(bought.items())
        ]
        statements.append(
            _upsert_many(
                PRODUCTS,
                rows,
                ("member_id", "product_id"),
                {
                    "quantity": "t.quantity + excluded.quantity",
                    "spend": "t.spend + excluded.spend",
                    "last_bought_at": "CASE WHEN t.last_bought_at < excluded.last_bought_at "
                    "THEN excluded.last_bought_at ELSE t.last_bought_at END",
                },
            )
        )
    return statements


def _product_totals(lines) -> dict:
    """{product id: [units, fen]} of (product id, units, fen) triples, product-less lines left out."""
    totals = defaultdict(lambda: [0, 0])
    for product_id, quantity, due in lines:
        if product_id is not None:
            totals[product_id][0] += quantity
            totals[product_id][1] += due
    return dict(totals)


def _take_return_off(sale, amount, returned_lines) -> None:
    """Take a return off the member's facts, the sale's month and store, and the products returned."""
    month = local_day(sale.created_at).replace(day=1)
    units = sum(quantity for line, quantity, _due in returned_lines if not line.gift)
    mine = {"member_id": sale.member_id}
    MemberFacts.objects.filter(**mine).update(
        spend=F("spend") - amount,
        returned=F("returned") + amount,
        items=F("items") - units,
        favourites_due=True,
    )
    MemberMonth.objects.filter(**mine, month=month).update(spend=F("spend") - amount)
    MemberStoreFacts.objects.filter(**mine, store_id=sale.store_id).update(spend=F("spend") - amount)
    products = _product_totals(
        (line.product_id, quantity, due) for line, quantity, due in returned_lines if not line.gift
    )
    for product_id, (quantity, due) in sorted(products.items()):
        MemberProductFacts.objects.filter(**mine, product_id=product_id).update(
            quantity=F("quantity") - quantity, spend=F("spend") - due
        )


def _sale_recorded(sender, sale, lines, **kwargs):
    """Count a new sale of a member (an anonymous sale has no facts)."""
    if sale.member_id is not None:
        _run(_sale_statements(sale, lines))


def _sale_returned(sender, sale, sale_return, lines, **kwargs):
    """Take a return off the member's facts."""
    if sale.member_id is not None:
        _take_return_off(sale, sale_return.amount, lines)


def _topup_fact_recorded(sender, instance, created, raw=False, **kwargs):
    """A top-up (or a payout of top-up principal) of a member's card changes their top-up facts."""
    if not created or raw or instance.kind not in TOPUP_FACT_KINDS or instance.card_transaction_id is None:
        return
    member_id = instance.card_transaction.member_id  # sales.invoicing hands the fact its transaction
    if member_id is None:
        return
    count = 1 if instance.kind == InvoiceFactKind.TOPUP else 0
    _run(
        [
            _upsert(
                FACTS,
                {
                    **_FACTS_DEFAULTS,
                    "member_id": member_id,
                    "merchant_id": instance.merchant_id,
                    "topups": count,
                    "topup_amount": instance.invoiceable,
                },
                ("member_id",),
                {
                    "topups": "t.topups + excluded.topups",
                    "topup_amount": "t.topup_amount + excluded.topup_amount",
                },
            )
        ]
    )


def _sales_imported(sender, merchant_id, member_ids, **kwargs):
    """Sales dated in the past: rebuild those members (visits cannot be counted in order)."""
    rebuild(member_ids=member_ids)


def connect():
    """Listen to the sales services and to top-up invoice facts."""
    sale_signals.sale_recorded.connect(_sale_recorded, dispatch_uid="analytics.sale_recorded")
    sale_signals.sale_returned.connect(_sale_returned, dispatch_uid="analytics.sale_returned")
    sale_signals.sales_imported.connect(_sales_imported, dispatch_uid="analytics.sales_imported")
    post_save.connect(_topup_fact_recorded, sender=InvoiceFact, dispatch_uid="analytics.topups")


__all__ = ["FACT_COLUMNS", "RebuildCounts", "connect", "local_day", "rebuild"]
