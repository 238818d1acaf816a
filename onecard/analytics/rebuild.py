"""The member facts recomputed from the sales and invoice facts in SQL: a few INSERT ... SELECT ... GROUP BY.

The database does the counting (ten million sale lines in minutes, not hours of Python), in the same
terms as the incremental path of analytics.facts, which a test compares it with. Local days are the
shop's calendar days: on PostgreSQL `AT TIME ZONE`, on SQLite (which stores UTC text) the zone's fixed
offset, so SQLite needs a zone without daylight saving (Asia/Shanghai has none).
"""

import datetime
import re
import zoneinfo
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction

from onecard.loyalty.models import CardTransaction
from onecard.sales.models import InvoiceFact, InvoiceFactKind, Sale, SaleLine

from .models import MemberFacts, MemberMonth, MemberProductFacts, MemberStoreFacts

FACTS = MemberFacts._meta.db_table
MONTHS = MemberMonth._meta.db_table
STORES = MemberStoreFacts._meta.db_table
PRODUCTS = MemberProductFacts._meta.db_table
SALES = Sale._meta.db_table
LINES = SaleLine._meta.db_table
INVOICE_FACTS = InvoiceFact._meta.db_table
CARD_TRANSACTIONS = CardTransaction._meta.db_table
BUILT = "analytics_rebuilt"  # temporary: the rebuilt facts, one row per member
SCOPE = "analytics_rebuild_scope"  # temporary: the members asked for, when a list was given

FACT_COLUMNS = [
    "first_purchase_at",
    "last_purchase_at",
    "last_visit_day",
    "purchases",
    "visits",
    "spend",
    "returned",
    "items",
    "topups",
    "topup_amount",
]


@dataclass
class RebuildCounts:
    """How many rows a rebuild wrote."""

    members: int = 0
    months: int = 0
    stores: int = 0
    products: int = 0


def local_day_sql(column: str) -> str:
    """SQL for the shop's calendar day of a stored UTC time `column`."""
    zone = settings.TIME_ZONE
    if connection.vendor == "postgresql":
        if not re.fullmatch(r"[A-Za-z_+\-/0-9]+", zone):
            raise ValueError(f"unexpected time zone name {zone!r}")
        return f"(({column}) AT TIME ZONE '{zone}')::date"
    return f"date({column}, '{_fixed_offset_minutes(zone):+d} minutes')"


def month_of_day_sql(day: str) -> str:
    """SQL for the first day of the month of the date expression `day`."""
    if connection.vendor == "postgresql":
        return f"date_trunc('month', {day})::date"
    return f"strftime('%%Y-%%m-01', {day})"


def _fixed_offset_minutes(zone: str) -> int:
    """The zone's offset from UTC in minutes, refused for a zone whose offset changes over the year."""
    tz = zoneinfo.ZoneInfo(zone)
    offsets = {datetime.datetime(2026, month, 1, tzinfo=tz).utcoffset() for month in (1, 7)}
    if len(offsets) != 1:
        raise NotImplementedError(
            f"{zone} has daylight saving: rebuilding facts on SQLite needs a fixed offset"
        )
    return int(offsets.pop().total_seconds() // 60)


def rebuild(*, merchant=None, member_ids=None) -> RebuildCounts:
    """Recompute the facts, months, stores and products of a merchant's members (or of `member_ids`) from the sales."""
    merchant_id = merchant.pk if merchant is not None else None
    with transaction.atomic(), connection.cursor() as cursor:
        _drop(cursor, SCOPE)
        _drop(cursor, BUILT)
        if member_ids is not None:
            cursor.execute(f"CREATE TEMPORARY TABLE {SCOPE} (member_id bigint PRIMARY KEY)")
            cursor.executemany(f"INSERT INTO {SCOPE} VALUES (%s)", [(pk,) for pk in set(member_ids)])  # noqa: S608 - our names
        sales_where, sales_params = _scope(
            "s.member_id", "s.merchant_id", merchant_id, member_ids is not None
        )
        cursor.execute(
            f"CREATE TEMPORARY TABLE {BUILT} AS {_built_sql(sales_where, merchant_id, member_ids is not None)}",
            sales_params * 2
            + _scope("ct.member_id", "f.merchant_id", merchant_id, member_ids is not None)[1],
        )
        cursor.execute(f"SELECT count(*) FROM {BUILT}")  # noqa: S608 - our names
        members = cursor.fetchone()[0]
        facts_where, facts_params = _scope("member_id", "merchant_id", merchant_id, member_ids is not None)
        _clear(cursor, facts_where, facts_params, scoped=merchant_id is not None or member_ids is not None)
        _write_facts(cursor)
        counts = _write_rows(cursor, sales_where, sales_params)
        _drop(cursor, SCOPE)
        _drop(cursor, BUILT)
    return RebuildCounts(members, *counts)


def _drop(cursor, name):
    cursor.execute(f"DROP TABLE IF EXISTS {name}")


def _scope(member_column, merchant_column, merchant_id, listed) -> tuple[str, list]:
    """A WHERE clause (and its parameters) limiting rows to the merchant and the listed members."""
    where, params = [f"{member_column} IS NOT NULL"], []
    if merchant_id is not None:
        where.append(f"{merchant_column} = %s")
        params.append(merchant_id)
    if listed:
        where.append(f"{member_column} IN (SELECT member_id FROM {SCOPE})")  # noqa: S608 - our names
    return " AND ".join(where), params


def _built_sql(sales_where, merchant_id, listed) -> str:
    """One row per member: their sales, their units kept and their top-ups, summed (a SELECT)."""
    day = local_day_sql("s.created_at")
    topup_where = _scope("ct.member_id", "f.merchant_id", merchant_id, listed)[0]
    kinds = ", ".join(f"'{kind}'" for kind in (InvoiceFactKind.TOPUP, InvoiceFactKind.TOPUP_REFUND))
    return (
        "SELECT member_id, MIN(merchant_id) AS merchant_id, MIN(first_at) AS first_purchase_at, "  # noqa: S608 - our names
        "MAX(last_at) AS last_purchase_at, MAX(last_day) AS last_visit_day, SUM(purchases) AS purchases, "
        "SUM(visits) AS visits, SUM(spend) AS spend, SUM(returned) AS returned, SUM(items) AS items, "
        "SUM(topups) AS topups, SUM(topup_amount) AS topup_amount FROM ("
        # the sales
        "SELECT s.member_id, MIN(s.merchant_id) AS merchant_id, MIN(s.created_at) AS first_at, "
        f"MAX(s.created_at) AS last_at, MAX({day}) AS last_day, COUNT(*) AS purchases, "
        f"COUNT(DISTINCT {day}) AS visits, SUM(s.total_due - s.returned_due) AS spend, "
        "SUM(s.returned_due) AS returned, 0 AS items, 0 AS topups, 0 AS topup_amount "
        f"FROM {SALES} s WHERE {sales_where} GROUP BY s.member_id "
        # the units kept, of the lines that were not gifts
        "UNION ALL SELECT s.member_id, NULL, NULL, NULL, NULL, 0, 0, 0, 0, "
        f"SUM(l.quantity - l.returned_quantity), 0, 0 FROM {LINES} l JOIN {SALES} s ON s.id = l.sale_id "
        f"WHERE {sales_where} AND NOT l.gift GROUP BY s.member_id "
        # top-ups and the top-up principal paid back
        "UNION ALL SELECT ct.member_id, MIN(f.merchant_id), NULL, NULL, NULL, 0, 0, 0, 0, 0, "
        f"SUM(CASE WHEN f.kind = '{InvoiceFactKind.TOPUP}' THEN 1 ELSE 0 END), SUM(f.invoiceable) "
        f"FROM {INVOICE_FACTS} f JOIN {CARD_TRANSACTIONS} ct ON ct.id = f.card_transaction_id "
        f"WHERE f.kind IN ({kinds}) AND {topup_where} GROUP BY ct.member_id"
        ") AS parts GROUP BY member_id"
    )


def _clear(cursor, facts_where, facts_params, *, scoped) -> None:
    """Empty the month, store and product rows of the members rebuilt, and the facts of those with no sale left."""
    touched = f"(SELECT member_id FROM {BUILT} UNION SELECT member_id FROM {FACTS} WHERE {facts_where})"  # noqa: S608 - our names
    if not scoped and connection.vendor == "postgresql":
        # TRUNCATE, far quicker than deleting ten million rows, refuses to run while deferred foreign-key
        # checks of this transaction are pending: run those now, and defer the later ones again.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"TRUNCATE {MONTHS}, {STORES}, {PRODUCTS}")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    for table in (MONTHS, STORES, PRODUCTS):
        if not scoped and connection.vendor == "postgresql":
            continue
        if not scoped:
            cursor.execute(f"DELETE FROM {table}")  # noqa: S608 - our names
        else:
            cursor.execute(f"DELETE FROM {table} WHERE member_id IN {touched}", facts_params)  # noqa: S608 - our names
    emptied = ", ".join(f"{name} = {'NULL' if i < 3 else '0'}" for i, name in enumerate(FACT_COLUMNS))
    emptied += ", favourites_due = TRUE"
    cursor.execute(
        f"UPDATE {FACTS} SET {emptied} WHERE {facts_where} "  # noqa: S608 - our names, values bound
        f"AND NOT EXISTS (SELECT 1 FROM {BUILT} b WHERE b.member_id = {FACTS}.member_id)",
        facts_params,
    )


def _write_facts(cursor) -> None:
    """Insert the rebuilt facts, or overwrite the fact columns of the members who have a row."""
    columns = ", ".join(FACT_COLUMNS)
    updates = ", ".join(f"{name} = excluded.{name}" for name in FACT_COLUMNS) + ", favourites_due = TRUE"
    cursor.execute(
        f"INSERT INTO {FACTS} (member_id, merchant_id, {columns}, window_purchases, window_spend, "  # noqa: S608 - our names
        f"rfm_class, abcd_class, life_stage, favourites_due) "
        f"SELECT member_id, merchant_id, {columns}, 0, 0, '', '', '', TRUE "
        f"FROM {BUILT} WHERE true ON CONFLICT (member_id) DO UPDATE SET {updates}"
    )


def _write_rows(cursor, sales_where, sales_params) -> tuple[int, int, int]:
    """Insert the month, store and product rows of the sales in scope; how many of each."""
    day = local_day_sql("s.created_at")
    sales = (
        "(SELECT s.member_id, s.merchant_id, s.store_id, s.total_due - s.returned_due AS due, "  # noqa: S608 - our names
        f"{day} AS day FROM {SALES} s WHERE {sales_where}) AS s"
    )
    cursor.execute(
        f"INSERT INTO {MONTHS} (member_id, merchant_id, month, purchases, visits, spend, last_visit_day) "  # noqa: S608 - our names
        f"SELECT member_id, MIN(merchant_id), {month_of_day_sql('day')}, COUNT(*), COUNT(DISTINCT day), "
        f"SUM(due), MAX(day) FROM {sales} GROUP BY member_id, {month_of_day_sql('day')}",
        sales_params,
    )
    months = cursor.rowcount
    cursor.execute(
        f"INSERT INTO {STORES} (member_id, store_id, purchases, spend) "  # noqa: S608 - our names
        f"SELECT member_id, store_id, COUNT(*), SUM(due) FROM {sales} GROUP BY member_id, store_id",
        sales_params,
    )
    stores = cursor.rowcount
    cursor.execute(
        f"INSERT INTO {PRODUCTS} (member_id, product_id, quantity, spend, last_bought_at) "  # noqa: S608 - our names
        "SELECT s.member_id, l.product_id, SUM(l.quantity - l.returned_quantity), "
        f"SUM(l.due - l.returned_due), MAX(s.created_at) FROM {LINES} l JOIN {SALES} s ON s.id = l.sale_id "
        f"WHERE {sales_where} AND NOT l.gift AND l.product_id IS NOT NULL GROUP BY s.member_id, l.product_id",
        sales_params,
    )
    return months, stores, cursor.rowcount
