"""Demo purchase history: millions of made-up sale lines over the last two years, written in bulk.

For analytics demos and `onecard bench analytics` (seed-demo --history-lines N). These are NOT rung up
through the checkout service (that would take hours): each sale is written straight into the tables
with its lines (demo catalogue products), one cash tender and its invoice fact, so the sales reports and
invoice report add up. No card, no ledger movement, no points, no promotions. Their references start
with HISTORY_PREFIX, which is how a later run counts what is already there. PostgreSQL takes them through
COPY, SQLite through executemany in large transactions.

Shape: members buy at very different rates (gamma-distributed weights, so many buy once or never and a
few often); some stop buying at some point of the two years (so every life-cycle stage has members);
a sale has 1 to 8 lines (3 on average), mostly at the member's home store, between 09:00 and 22:00.
"""

import datetime
import json
from dataclasses import dataclass

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from onecard.catalog.models import Product
from onecard.members.models import Member

from .models import InvoiceCategory, InvoiceFactKind, Sale, SaleKind, SaleLine, SaleTender, TenderKind

HISTORY_PREFIX = "HIST-"
HISTORY_DAYS = 730
SALES_PER_CHUNK = 100_000
SALE_COLUMNS = (
    "id, kind, merchant_id, store_id, member_id, business_ref, list_total, discount_total, total_due, "
    "earn_base, points_earned, promotions, limited_promotions, coupons, order_adjustments, pricing, "
    "returned_due, cash_received, created_at"
)
LINE_COLUMNS = (
    "sale_id, key, product_id, sku, name, quantity, list_total, adjustments, due, gift, returned_quantity, "
    "returned_due"
)
TENDER_COLUMNS = "sale_id, kind, amount, points, bonus, returned_amount, returned_points"
FACT_COLUMNS = (
    "kind, merchant_id, store_id, occurred_at, category, sale_id, amount, invoiceable, stored_value, points, "
    "package, bonus, created_at"
)
DISCOUNT = [{"source": "demo", "amount": 0, "explanation": "历史数据折扣 history discount"}]


@dataclass
class Population:
    """Who buys what: the members (with their home store and activity), the stores and the products."""

    member_ids: np.ndarray
    home_stores: np.ndarray
    weights: np.ndarray  # each member's share of the sales
    stopped_days_ago: np.ndarray  # when each member stopped buying (0: still buying)
    store_ids: np.ndarray
    product_ids: np.ndarray
    skus: list
    names: list
    prices: np.ndarray
    popularity: np.ndarray


def history_lines(merchant) -> int:
    """How many demo history sale lines the merchant has."""
    return SaleLine.objects.filter(
        sale__merchant=merchant, sale__business_ref__startswith=HISTORY_PREFIX
    ).count()


def population(merchant, stores, seed) -> Population | None:
    """The members, stores and catalogue the history draws from (None without members or products)."""
    rng = np.random.default_rng(seed)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, home_store_id FROM {Member._meta.db_table} WHERE merchant_id = %s ORDER BY id",  # noqa: S608 - our names
            [merchant.pk],
        )
        rows = np.array(cursor.fetchall(), dtype=object)
    products = list(
        Product.objects.filter(merchant=merchant, is_active=True, list_price__gt=0)
        .order_by("id")
        .values_list("id", "sku", "name", "list_price")
    )
    if not len(rows) or not products:
        return None
    store_ids = np.array([s.pk for s in stores], dtype=np.int64)
    member_ids = rows[:, 0].astype(np.int64)
    homes = np.array([pk if pk is not None else store_ids[0] for pk in rows[:, 1]], dtype=np.int64)
    weights = rng.gamma(0.5, 1.0, len(member_ids))
    stopped = np.where(rng.random(len(member_ids)) < 0.55, 0, rng.integers(0, HISTORY_DAYS, len(member_ids)))
    popularity = 1.0 / np.arange(1, len(products) + 1) ** 0.8
    rng.shuffle(popularity)
    return Population(
        member_ids,
        homes,
        weights / weights.sum(),
        stopped,
        store_ids,
        np.array([p[0] for p in products], dtype=np.int64),
        [p[1] for p in products],
        [p[2] for p in products],
        np.array([p[3] for p in products], dtype=np.int64),
        popularity / popularity.sum(),
    )


def seed_history(merchant, stores, lines, *, seed=20261207, progress=None) -> int:
    """Add `lines` demo history sale lines (in whole sales, chunk by chunk); the number of sales written."""
    people = population(merchant, stores, seed)
    if people is None or lines <= 0:
        return 0
    rng = np.random.default_rng(seed + history_lines(merchant))
    midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    written_lines = written_sales = 0
    while written_lines < lines:
        chunk = _draw(people, rng, min(SALES_PER_CHUNK, lines - written_lines), lines - written_lines)
        with transaction.atomic():
            _write(merchant, people, chunk, midnight)
        written_lines += len(chunk.line_sale)
        written_sales += len(chunk.member)
        if progress is not None:
            progress(written_lines, lines)
    return written_sales


@dataclass
class _Chunk:
    """Some sales and their lines, as arrays (lines in sale order; line_sale is the sale's index)."""

    member: np.ndarray
    store: np.ndarray
    seconds_ago: np.ndarray
    line_sale: np.ndarray
    product: np.ndarray  # index into the population's products
    quantity: np.ndarray
    list_total: np.ndarray
    due: np.ndarray


def _draw(people: Population, rng, sales: int, lines_left: int) -> _Chunk:
    """`sales` random sales (fewer if their lines would pass `lines_left`)."""
    who = rng.choice(len(people.member_ids), size=sales, p=people.weights)
    counts = np.minimum(1 + rng.poisson(2.0, sales), 8)
    ends = np.cumsum(counts)
    if ends[-1] > lines_left:  # the last sales trimmed to land on the number asked for
        keep = int(np.searchsorted(ends, lines_left, side="left")) + 1
        who, counts = who[:keep], counts[:keep]
        counts[-1] -= int(counts.sum() - lines_left)
    stopped = people.stopped_days_ago[who]
    days_ago = stopped + 1 + (rng.random(len(who)) * (HISTORY_DAYS - stopped)).astype(np.int64)
    seconds_ago = days_ago * 86400 - rng.integers(9 * 3600, 22 * 3600, len(who))
    at_home = rng.random(len(who)) < 0.8
    store = np.where(at_home, people.home_stores[who], rng.choice(people.store_ids, len(who)))
    line_sale = np.repeat(np.arange(len(who)), counts)
    product = rng.choice(len(people.product_ids), size=len(line_sale), p=people.popularity)
    quantity = 1 + (rng.random(len(line_sale)) < 0.25) + (rng.random(len(line_sale)) < 0.08)
    list_total = people.prices[product] * quantity
    off = np.where(rng.random(len(line_sale)) < 0.15, rng.integers(5, 21, len(line_sale)), 0)
    due = list_total - list_total * off // 100
    return _Chunk(people.member_ids[who], store, seconds_ago, line_sale, product, quantity, list_total, due)


def _write(merchant, people: Population, chunk: _Chunk, midnight: datetime.datetime) -> None:
    """Write one chunk's sales, lines, tenders and invoice facts (inside the caller's transaction)."""
    n = len(chunk.member)
    ids = _sale_ids(n)
    list_totals = np.bincount(chunk.line_sale, weights=chunk.list_total, minlength=n).astype(np.int64)
    dues = np.bincount(chunk.line_sale, weights=chunk.due, minlength=n).astype(np.int64)
    base = np.datetime64(midnight.astimezone(datetime.UTC).replace(tzinfo=None), "s")
    times = np.datetime_as_string(base - chunk.seconds_ago.astype("timedelta64[s]"), unit="s")
    # Stored as UTC: Django's own text form on SQLite, with an explicit offset for PostgreSQL's COPY.
    times = np.char.replace(times, "T", " ")
    if connection.vendor == "postgresql":
        times = np.char.add(times, "+00:00")
    times = times.tolist()
    sale_ids, members, stores = ids.tolist(), chunk.member.tolist(), chunk.store.tolist()
    sale_rows = [
        (pk, SaleKind.CHECKOUT.value, merchant.pk, store, member, f"{HISTORY_PREFIX}{pk}", lt, lt - due, due)
        + (0, 0, "[]", "[]", "[]", "[]", "{}", 0, 0, at)
        for pk, store, member, lt, due, at in zip(
            sale_ids, stores, members, list_totals.tolist(), dues.tolist(), times, strict=True
        )
    ]
    tender_rows = [
        (pk, TenderKind.CASH.value, due, 0, 0, 0, 0) for pk, due in zip(sale_ids, dues.tolist(), strict=True)
    ]
    fact_rows = [
        (InvoiceFactKind.SALE.value, merchant.pk, store, at, InvoiceCategory.GOODS.value, pk, due, due)
        + (0, 0, 0, 0, at)
        for pk, store, at, due in zip(sale_ids, stores, times, dues.tolist(), strict=True)
    ]
    _insert(Sale._meta.db_table, SALE_COLUMNS, sale_rows)
    _insert(SaleLine._meta.db_table, LINE_COLUMNS, _line_rows(people, chunk, ids))
    _insert(SaleTender._meta.db_table, TENDER_COLUMNS, tender_rows)
    _insert("sales_invoicefact", FACT_COLUMNS, fact_rows)


def _line_rows(people: Population, chunk: _Chunk, ids: np.ndarray) -> list:
    """The lines of a chunk as rows (a discounted line says so in its adjustments)."""
    starts = np.searchsorted(chunk.line_sale, np.arange(len(ids)))
    position = (np.arange(len(chunk.line_sale)) - starts[chunk.line_sale]).tolist()
    skus, names, product_ids = people.skus, people.names, people.product_ids.tolist()
    rows = []
    for sale, pos, product, quantity, list_total, due in zip(
        ids[chunk.line_sale].tolist(),
        position,
        chunk.product.tolist(),
        chunk.quantity.tolist(),
        chunk.list_total.tolist(),
        chunk.due.tolist(),
        strict=True,
    ):
        adjustments = _discount(due - list_total) if due != list_total else "[]"
        rows.append(
            (sale, f"h{pos}", product_ids[product], skus[product], names[product], quantity, list_total)
            + (adjustments, due, False, 0, 0)
        )
    return rows


def _discount(amount: int) -> str:
    """A line's adjustments holding one made-up discount of `amount` fen (negative)."""
    return json.dumps([{**DISCOUNT[0], "amount": amount}], ensure_ascii=False)


def _sale_ids(n: int) -> np.ndarray:
    """`n` new sale ids: from the id sequence on PostgreSQL, after the largest on SQLite."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [Sale._meta.db_table, n],
            )
            return np.array([row[0] for row in cursor.fetchall()], dtype=np.int64)
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {Sale._meta.db_table}")  # noqa: S608 - our names
        first = cursor.fetchone()[0] + 1
    return np.arange(first, first + n, dtype=np.int64)


def _insert(table: str, columns: str, rows: list) -> None:
    """Many rows into `table`: COPY on PostgreSQL, one executemany elsewhere."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        marks = ", ".join(["%s"] * len(columns.split(",")))
        cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)  # noqa: S608 - our names


def analyze() -> None:
    """Fresh planner statistics of every table after a bulk load, as autovacuum would gather them.

    Every table, not only the sales: a PostgreSQL run with autovacuum off (as on our build machines)
    never gathers any, and the planner then takes a small table of cards or accounts for one row.
    """
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE")
        elif connection.vendor == "sqlite":
            cursor.execute("PRAGMA analysis_limit=1000")
            cursor.execute("ANALYZE")
