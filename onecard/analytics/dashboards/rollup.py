"""The dashboards' daily rollups: each closed local day's figures per store, summed once, read by every page.

`roll_up(merchant)` adds the days after the merchant's `RollupState.through_day` up to yesterday with one
INSERT ... SELECT ... GROUP BY per table (analytics.rebuild's style, both databases); the dashboards read
the rolled days from these tables and only the days after through_day (today) from the raw rows.

A closed day's figures change in two ways, both heard here so that the rollups stay exact: a return of a
sale of a rolled day (sales.signals.sale_returned) recomputes that store's day in the same transaction;
a member who joined on a rolled day and is merged or moves home store recomputes the day's `joined`.
Imported sales (sales.signals.sales_imported) are not takings (dashboards.MONEY_KINDS) and change no
rolled figure. Postings are never edited (the ledger is append-only): a rolled day's movements stay.
"""

import datetime

from django.db import IntegrityError, connection, transaction
from django.db.models.signals import post_save
from django.utils import timezone

from onecard.analytics.models import (
    LiabilityKind,
    RollupState,
    StoreDay,
    StoreDayLiability,
    StoreDayProduct,
    StoreDayTender,
    StoreLiabilityBalance,
    StoreMonthProduct,
)
from onecard.analytics.rebuild import local_day_sql, month_of_day_sql
from onecard.core.queries import local_midnight
from onecard.loyalty.ledger.choices import AccountKind
from onecard.loyalty.models import Account, Card, CardTransaction, JournalEntry, Posting
from onecard.loyalty.models.stored_value import CardTxKind
from onecard.loyalty.stored_value.liability import LIABILITY_KINDS
from onecard.members.choices import MemberStatus
from onecard.members.models import Member
from onecard.org.models import Merchant
from onecard.sales import signals as sale_signals
from onecard.sales.models import Sale, SaleLine, SaleTender, TenderKind

from .queries import MONEY_KINDS

DAYS = StoreDay._meta.db_table
TENDERS = StoreDayTender._meta.db_table
PRODUCTS = StoreDayProduct._meta.db_table
LIABILITIES = StoreDayLiability._meta.db_table
BALANCES = StoreLiabilityBalance._meta.db_table
MONTH_PRODUCTS = StoreMonthProduct._meta.db_table
ROLLUPS = (
    StoreDay,
    StoreDayTender,
    StoreDayProduct,
    StoreMonthProduct,
    StoreDayLiability,
    StoreLiabilityBalance,
)
ADVISORY_LOCK = 0x0DA5  # the first key of the merchants' roll-up locks (pg_advisory_xact_lock)
# A roll-up of more days than this refreshes the planner's statistics of the rollup tables (PostgreSQL).
ANALYZE_AFTER_DAYS = 28
SALES = Sale._meta.db_table
LINES = SaleLine._meta.db_table
SALE_TENDERS = SaleTender._meta.db_table
CARD_TRANSACTIONS = CardTransaction._meta.db_table
CARDS = Card._meta.db_table
MEMBERS = Member._meta.db_table
POSTINGS = Posting._meta.db_table
ENTRIES = JournalEntry._meta.db_table
ACCOUNTS = Account._meta.db_table


def _quoted(values) -> str:
    return ", ".join(f"'{value}'" for value in values)  # our own choice values, never user input


def _dt(value):
    return connection.ops.adapt_datetimefield_value(value)


def yesterday() -> datetime.date:
    """The last closed local day."""
    return timezone.localdate() - datetime.timedelta(days=1)


def rolled_through(merchant_id) -> datetime.date | None:
    """The last day in the merchant's rollups, or None when nothing was rolled up yet."""
    return RollupState.objects.filter(merchant_id=merchant_id).values_list("through_day", flat=True).first()


class _Window:
    """What one roll-up covers: a merchant, [start, end) in aware time, and optionally one store."""

    def __init__(self, merchant_id, start, end, store_id=None):
        self.merchant_id, self.start, self.end, self.store_id = merchant_id, start, end, store_id

    def where(self, merchant_column, store_column, time_column) -> tuple[str, list]:
        """A WHERE clause (and its parameters) over one source's merchant, store and time columns."""
        clauses, params = [f"{merchant_column} = %s"], [self.merchant_id]
        if self.start is not None:
            clauses.append(f"{time_column} >= %s")
            params.append(_dt(self.start))
        clauses.append(f"{time_column} < %s")
        params.append(_dt(self.end))
        if self.store_id is not None:
            clauses.append(f"{store_column} = %s")
            params.append(self.store_id)
        return " AND ".join(clauses), params


def _money_sales(window) -> tuple[str, list]:
    where, params = window.where("s.merchant_id", "s.store_id", "s.created_at")
    return f"{where} AND s.kind IN ({_quoted(MONEY_KINDS)})", params


def _insert_days(cursor, window) -> int:
    """StoreDay: sales and takings, stored value spent, top-up principal and members joined, per store and day."""
    sales_where, sales_params = _money_sales(window)
    sale_day = local_day_sql("s.created_at")
    topup_where, topup_params = window.where("c.merchant_id", "ct.store_id", "ct.created_at")
    topup_day = local_day_sql("ct.created_at")
    member_where, member_params = window.where("m.merchant_id", "m.home_store_id", "m.created_at")
    member_day = local_day_sql("m.created_at")
    cursor.execute(
        f"INSERT INTO {DAYS} (merchant_id, store_id, day, sales, takings, stored_value_spent, topups, joined) "  # noqa: S608 - our names
        "SELECT %s, store_id, day, SUM(sales), SUM(takings), SUM(spent), SUM(topups), SUM(joined) FROM ("
        f"SELECT s.store_id, {sale_day} AS day, COUNT(*) AS sales, SUM(s.total_due - s.returned_due) AS takings, "
        "0 AS spent, 0 AS topups, 0 AS joined "
        f"FROM {SALES} s WHERE {sales_where} GROUP BY s.store_id, {sale_day} "
        f"UNION ALL SELECT s.store_id, {sale_day}, 0, 0, SUM(t.amount - t.returned_amount), 0, 0 "
        f"FROM {SALE_TENDERS} t JOIN {SALES} s ON s.id = t.sale_id "
        f"WHERE {sales_where} AND t.kind = '{TenderKind.STORED_VALUE}' GROUP BY s.store_id, {sale_day} "
        f"UNION ALL SELECT ct.store_id, {topup_day}, 0, 0, 0, SUM(ct.principal), 0 "
        f"FROM {CARD_TRANSACTIONS} ct JOIN {CARDS} c ON c.id = ct.card_id "
        f"WHERE {topup_where} AND ct.kind = '{CardTxKind.TOPUP}' GROUP BY ct.store_id, {topup_day} "
        f"UNION ALL SELECT m.home_store_id, {member_day}, 0, 0, 0, 0, COUNT(*) FROM {MEMBERS} m "
        f"WHERE {member_where} AND m.status = '{MemberStatus.ACTIVE}' GROUP BY m.home_store_id, {member_day}"
        ") AS parts GROUP BY store_id, day",
        [window.merchant_id, *sales_params, *sales_params, *topup_params, *member_params],
    )
    return cursor.rowcount


def _insert_tenders(cursor, window) -> int:
    """StoreDayTender: each tender's amount less returned, per store, day and kind."""
    where, params = _money_sales(window)
    day = local_day_sql("s.created_at")
    cursor.execute(
        f"INSERT INTO {TENDERS} (merchant_id, store_id, day, kind, amount) "  # noqa: S608 - our names
        f"SELECT %s, s.store_id, {day}, t.kind, SUM(t.amount - t.returned_amount) "
        f"FROM {SALE_TENDERS} t JOIN {SALES} s ON s.id = t.sale_id WHERE {where} "
        f"GROUP BY s.store_id, {day}, t.kind ORDER BY {day}, s.store_id",
        [window.merchant_id, *params],
    )
    return cursor.rowcount


def _insert_products(cursor, window) -> int:
    """StoreDayProduct: each product's line takings and units kept, per store and day."""
    where, params = _money_sales(window)
    day = local_day_sql("s.created_at")
    cursor.execute(
        f"INSERT INTO {PRODUCTS} (merchant_id, store_id, day, product_id, takings, units) "  # noqa: S608 - our names
        f"SELECT %s, s.store_id, {day}, l.product_id, SUM(l.due - l.returned_due), "
        f"SUM(l.quantity - l.returned_quantity) FROM {LINES} l JOIN {SALES} s ON s.id = l.sale_id "
        f"WHERE {where} AND l.product_id IS NOT NULL GROUP BY s.store_id, {day}, l.product_id "
        # in day order: a period's rows lie together on disk, a page reads few blocks
        f"ORDER BY {day}, s.store_id",
        [window.merchant_id, *params],
    )
    return cursor.rowcount


def _insert_liabilities(cursor, window) -> int:
    """StoreDayLiability: the day's postings on the stored-value and points accounts, per issuing store."""
    where, params = window.where("a.merchant_id", "c.issued_store_id", "e.created_at")
    day = local_day_sql("e.created_at")
    points = AccountKind.MEMBER_POINTS
    kind = (
        f"CASE WHEN a.kind = '{points}' THEN '{LiabilityKind.POINTS}' ELSE '{LiabilityKind.STORED_VALUE}' END"
    )
    cursor.execute(
        f"INSERT INTO {LIABILITIES} (merchant_id, store_id, day, kind, amount) "  # noqa: S608 - our names
        f"SELECT %s, c.issued_store_id, {day}, {kind}, SUM(p.amount) FROM {POSTINGS} p "
        f"JOIN {ENTRIES} e ON e.id = p.entry_id JOIN {ACCOUNTS} a ON a.id = p.account_id "
        f"JOIN {CARDS} c ON c.id = a.card_id "
        f"WHERE {where} AND c.merchant_id = %s AND a.kind IN ({_quoted((*LIABILITY_KINDS, points))}) "
        f"GROUP BY c.issued_store_id, {day}, {kind}",
        [window.merchant_id, *params, window.merchant_id],
    )
    return cursor.rowcount


def _write_balances(cursor, window) -> int:
    """StoreLiabilityBalance: each issuing store's stored-value and points balance at the window's end.

    One statement (one snapshot): today's account balances less the postings made since the window ended.
    """
    points = AccountKind.MEMBER_POINTS
    kind = (
        f"CASE WHEN a.kind = '{points}' THEN '{LiabilityKind.POINTS}' ELSE '{LiabilityKind.STORED_VALUE}' END"
    )
    kinds = _quoted((*LIABILITY_KINDS, points))
    merchant = window.merchant_id
    cursor.execute(f"DELETE FROM {BALANCES} WHERE merchant_id = %s", [merchant])  # noqa: S608 - our names
    cursor.execute(
        f"INSERT INTO {BALANCES} (merchant_id, store_id, kind, balance) "  # noqa: S608 - our names
        "SELECT %s, store_id, kind, SUM(amount) FROM ("
        f"SELECT c.issued_store_id AS store_id, {kind} AS kind, a.balance AS amount FROM {ACCOUNTS} a "
        f"JOIN {CARDS} c ON c.id = a.card_id WHERE a.merchant_id = %s AND c.merchant_id = %s AND a.kind IN ({kinds}) "
        f"UNION ALL SELECT c.issued_store_id, {kind}, -p.amount FROM {POSTINGS} p "
        f"JOIN {ENTRIES} e ON e.id = p.entry_id JOIN {ACCOUNTS} a ON a.id = p.account_id "
        f"JOIN {CARDS} c ON c.id = a.card_id WHERE a.merchant_id = %s AND c.merchant_id = %s "
        f"AND a.kind IN ({kinds}) AND e.created_at >= %s"
        ") AS parts GROUP BY store_id, kind",
        [merchant, merchant, merchant, merchant, merchant, _dt(window.end)],
    )
    return cursor.rowcount


def _write_months(cursor, merchant_id, first_day, store_id=None, *, single=False) -> int:
    """Recompute StoreMonthProduct from the day rows, for the months from `first_day`'s on (None: every month).

    `single`: only `first_day`'s month (and only `store_id`'s rows when given).
    """
    where, params = ["merchant_id = %s"], [merchant_id]
    if first_day is not None:
        where.append("day >= %s")
        params.append(connection.ops.adapt_datefield_value(first_day.replace(day=1)))
    if single:
        following = (first_day.replace(day=1) + datetime.timedelta(days=32)).replace(day=1)
        where.append("day < %s")
        params.append(connection.ops.adapt_datefield_value(following))
    if store_id is not None:
        where.append("store_id = %s")
        params.append(store_id)
    month_where = " AND ".join(clause.replace("day", "month") for clause in where)
    cursor.execute(f"DELETE FROM {MONTH_PRODUCTS} WHERE {month_where}", params)  # noqa: S608 - our names
    month = month_of_day_sql("day")
    cursor.execute(
        f"INSERT INTO {MONTH_PRODUCTS} (merchant_id, store_id, month, product_id, takings, units) "  # noqa: S608 - our names
        f"SELECT merchant_id, store_id, {month}, product_id, SUM(takings), SUM(units) FROM {PRODUCTS} "
        f"WHERE {' AND '.join(where)} GROUP BY merchant_id, store_id, {month}, product_id "
        f"ORDER BY {month}, store_id",
        params,
    )
    return cursor.rowcount


def _analyze(cursor) -> None:
    """Fresh planner statistics after a large roll-up, so that the first pages read the rollups well."""
    tables = [model._meta.db_table for model in ROLLUPS]
    if connection.vendor == "postgresql":
        cursor.execute("ANALYZE " + ", ".join(tables))
    else:
        for table in tables:
            cursor.execute(f"ANALYZE {table}")


def _lock_state(merchant_id) -> RollupState | None:
    """The merchant's state, read under the merchant's roll-up lock: roll-ups and refreshes of it take turns.

    On PostgreSQL a transaction-level advisory lock, which nothing else waits for (a row lock on the
    merchant would hold up every insert naming it); SQLite has one writer at a time anyway.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [ADVISORY_LOCK, merchant_id])
    return RollupState.objects.filter(merchant_id=merchant_id).first()


def roll_up(merchant, through=None) -> int:
    """Roll up the merchant's days after its through_day up to `through` (default yesterday); store days written."""
    through = through or yesterday()
    with transaction.atomic():
        state = _lock_state(merchant.pk)
        if state is not None and state.through_day >= through:
            return 0
        first = state.through_day + datetime.timedelta(days=1) if state is not None else None
        window = _Window(
            merchant.pk,
            local_midnight(first) if first is not None else None,
            local_midnight(through + datetime.timedelta(days=1)),
        )
        if first is None:  # nothing rolled yet: whatever an interrupted earlier attempt left goes
            for model in ROLLUPS:
                model.objects.filter(merchant_id=merchant.pk).delete()
        with connection.cursor() as cursor:
            store_days = _insert_days(cursor, window)
            for insert in (_insert_tenders, _insert_products, _insert_liabilities):
                insert(cursor, window)
            _write_months(cursor, merchant.pk, first)
            _write_balances(cursor, window)
            if first is None or (through - first).days >= ANALYZE_AFTER_DAYS:
                _analyze(cursor)
        RollupState.objects.update_or_create(
            merchant_id=merchant.pk, defaults={"through_day": through, "rolled_at": timezone.now()}
        )
    return store_days


def roll_up_lazily(merchant_id) -> datetime.date | None:
    """Bring the merchant's rollups up to yesterday if they are behind; the day they reach (None: no day)."""
    through, last_closed = rolled_through(merchant_id), yesterday()
    if through is None or through < last_closed:
        try:
            roll_up(Merchant(pk=merchant_id), last_closed)
        except IntegrityError:  # SQLite: another process rolled the same days up first
            return rolled_through(merchant_id)
        return last_closed
    return through


def refresh_days(merchant, store_days) -> int:
    """Recompute the sales, tenders, products, top-ups and joined members of (store id, day) pairs already rolled up.

    Pairs after the merchant's through_day are left alone: those days are still read live.
    """
    with transaction.atomic():
        state = _lock_state(merchant.pk)
        pairs = sorted({(store, day) for store, day in store_days if state and day <= state.through_day})
        with connection.cursor() as cursor:
            for store_id, day in pairs:
                for model in (StoreDay, StoreDayTender, StoreDayProduct):
                    model.objects.filter(merchant_id=merchant.pk, store_id=store_id, day=day).delete()
                window = _Window(
                    merchant.pk,
                    local_midnight(day),
                    local_midnight(day + datetime.timedelta(days=1)),
                    store_id,
                )
                for insert in (_insert_days, _insert_tenders, _insert_products):
                    insert(cursor, window)
                _write_months(cursor, merchant.pk, day, store_id, single=True)
    return len(pairs)


def refresh_joined(merchant_id, day) -> None:
    """Recompute the members joined on a rolled `day` at every store (a member merged or moved home store)."""
    with transaction.atomic():
        state = _lock_state(merchant_id)
        if state is None or day > state.through_day:
            return
        window = _Window(merchant_id, local_midnight(day), local_midnight(day + datetime.timedelta(days=1)))
        where, params = window.where("m.merchant_id", "m.home_store_id", "m.created_at")
        StoreDay.objects.filter(merchant_id=merchant_id, day=day).update(joined=0)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {DAYS} (merchant_id, store_id, day, sales, takings, stored_value_spent, topups, joined) "  # noqa: S608 - our names
                f"SELECT %s, m.home_store_id, %s, 0, 0, 0, 0, COUNT(*) FROM {MEMBERS} m "
                f"WHERE {where} AND m.status = '{MemberStatus.ACTIVE}' GROUP BY m.home_store_id "
                "ON CONFLICT (store_id, day) DO UPDATE SET joined = excluded.joined",
                [merchant_id, connection.ops.adapt_datefield_value(day), *params],
            )


def _sale_returned(sender, sale, **kwargs):
    """A return of a sale of a rolled day changes that store's day: recompute it, in the return's transaction.

    refresh_days reads how far the rollups reach under the roll-up lock, so a roll-up running meanwhile
    either sees the return or is followed by the refresh.
    """
    day = timezone.localtime(sale.created_at).date()
    if sale.kind in MONEY_KINDS and day < timezone.localdate():
        refresh_days(Merchant(pk=sale.merchant_id), [(sale.store_id, day)])


def _member_saved(sender, instance, raw=False, update_fields=None, **kwargs):
    """A member who joined on a rolled day and was merged or moved home store changes that day's `joined`.

    The old home store is not known here, so the day is recomputed at every store (one grouped query
    over the members who joined that day). A member created with a past date (an import) counts too.
    """
    if raw or (
        update_fields is not None and not {"status", "home_store", "home_store_id"} & set(update_fields)
    ):
        return
    day = timezone.localtime(instance.created_at).date()
    if day < timezone.localdate():
        refresh_joined(instance.merchant_id, day)


def connect():
    """Listen to the returns and member changes that alter a rolled day."""
    sale_signals.sale_returned.connect(_sale_returned, dispatch_uid="dashboards.rollup.sale_returned")
    post_save.connect(_member_saved, sender=Member, dispatch_uid="dashboards.rollup.member_saved")
