"""Products bought together (basket analysis, issue 11 item 6) and each member's top products.

The rules of every figure:
- A basket is one sale made in the window (whole local days, promotions.reports.Period) at a store in
  the viewer's scope (sales.reports.SaleScope). Its items are the products of its lines that name a
  product and are not gifts, each product once per sale however many lines or units it has. Returns are
  not taken off: a basket is what went through the till.
- N: the itemised sales of the window (those with at least one item). n(A): the sales containing A.
  n(AB): the sales containing both A and B (A ≠ B).
- support = n(AB) / N; confidence(A→B) = n(AB) / n(A); lift = confidence(A→B) / (n(B) / N), the same
  both ways. A pair is kept when n(AB) reaches `min_both` (3 by default), then ranked by lift or
  support (ties: more sales with both first, then product ids) and cut to the top N.
- "Bought with" X: every B ≠ X with n(XB) ≥ `min_both`, ranked by confidence(X→B) or lift.
- A member's top products: their `MemberProductFacts` with spend above zero, by spend (net of returns)
  then product id, the first N (5 by default), for the members the viewer may see.

How the pairs are counted: one query streams (sale, product) of the window's item lines in sale order
(a server-side cursor on PostgreSQL, so memory holds one chunk); numpy dedupes each chunk of whole
sales, pairs every item with each later item of its sale (one vectorised step per distance within a
basket) and counts the pair codes; the chunks' counts are merged as they come. "Bought with" X reads the
same stream and counts the other products of the baskets holding X. The self-join in SQL grouped by
pair was measured on the same data and lost (figures below); so did SQL for "bought with" (three grouped
COUNT(DISTINCT sale) scans).
Figures of 2026-12-07 on 2 cores shared with other work (load average 5 to 10: wall times run up to 3
times the CPU time): generated lines (baskets of 1 + Poisson(3) lines, 3,000 products of Zipf-like
popularity, 2 percent gifts, 2 percent without product), pairs of the whole year at min_both 3.
At 1M lines (250k sales; 108,731 pairs kept, the same by both methods): SQLite, numpy stream 1.6 s
(4.0 to 4.8 s when loaded), SQL self-join 7.1 s (12.3 s); PostgreSQL (loaded), 3.7 s and 14.8 s.
"Bought with" the most sold product on SQLite: three SQL scans 3.5 s quiet, 19 s loaded; the stream
12 s loaded, of which 3.6 s CPU.
At 10M lines (2.5M sales, 1.03M pairs kept): SQLite 24.7 s (11.4 s CPU, 0.63 GB peak; 39 s at load 10),
PostgreSQL 22.9 s (7.2 s of Python CPU, a merge join on the two indexes, no sort; 52 s at load 10).
"Bought with" the most sold product at 10M: SQLite 18.2 s, PostgreSQL 26 s (at load 10).
Measured: 1M lines on SQLite, numpy stream 1.6 s against SQL self-join 7.1 s; 10M lines, pairs in 24.7 s (SQLite) and 22.9 s (PostgreSQL).
"""

import itertools
from dataclasses import dataclass, field

import numpy as np
from django.db import connection
from django.db.models import Exists, F, OuterRef, Window
from django.db.models.functions import RowNumber

from onecard.analytics.models import MemberProductFacts
from onecard.catalog.models import Product
from onecard.members.queries import visible_members
from onecard.org.models import OrgNode
from onecard.sales.models import Sale, SaleLine

DEFAULT_MIN_BOTH = 3
DEFAULT_TOP_PAIRS = 50
DEFAULT_TOP_PRODUCTS = 5
PAIR_RANKINGS = ("lift", "support")
PARTNER_RANKINGS = ("confidence", "lift")
FETCH_ROWS = 200_000  # rows per fetch: a few MB of tuples, few round trips
MERGE_CODES = 1_000_000  # counted pair codes kept apart before they are merged into the running totals
PRODUCT_BITS = 32  # a pair code is (A << 32) | B: product ids stay below 2**31

SALE = connection.ops.quote_name(Sale._meta.db_table)
LINE = connection.ops.quote_name(SaleLine._meta.db_table)
NODE = connection.ops.quote_name(OrgNode._meta.db_table)


# ---- results ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductPair:
    """Two products bought in the same sales: how often together and apart, and what follows from it."""

    product_a: Product
    product_b: Product
    both: int  # n(AB)
    sales_a: int  # n(A)
    sales_b: int  # n(B)
    sales: int  # N

    @property
    def support(self) -> float:
        return self.both / self.sales

    @property
    def confidence_ab(self) -> float:
        return self.both / self.sales_a

    @property
    def confidence_ba(self) -> float:
        return self.both / self.sales_b

    @property
    def lift(self) -> float:
        return self.both * self.sales / (self.sales_a * self.sales_b)

    # Percentages, for the pages.
    @property
    def support_percent(self) -> float:
        return 100 * self.support

    @property
    def confidence_ab_percent(self) -> float:
        return 100 * self.confidence_ab

    @property
    def confidence_ba_percent(self) -> float:
        return 100 * self.confidence_ba


@dataclass
class PairReport:
    """The window's itemised sales and the top pairs among those bought together often enough."""

    sales: int
    pairs: list = field(default_factory=list)
    pairs_found: int = 0  # pairs that reached min_both, before the cut to the top N


@dataclass
class BoughtWith:
    """The products bought in the same sales as `product` (each a ProductPair with it as product A)."""

    product: Product
    sales: int  # N
    sales_with: int  # n(product)
    partners: list = field(default_factory=list)
    partners_found: int = 0


# ---- the window's item lines ----------------------------------------------------------------------------------


def _item_lines_where(scope, period):
    """WHERE conditions (and parameters) for the item lines of the sales of `scope` made in `period`."""
    sql = (
        "s.merchant_id = %s AND s.created_at >= %s AND s.created_at < %s"
        " AND l.product_id IS NOT NULL AND NOT l.gift"
    )
    # Raw parameters skip the field's conversion: on SQLite an aware time would be compared as local text.
    moment = connection.ops.adapt_datetimefield_value
    params = [scope.merchant_id, moment(period.start), moment(period.end)]
    if scope.node_path is not None:
        sql += f" AND s.store_id IN (SELECT n.id FROM {NODE} n WHERE n.path LIKE %s)"  # noqa: S608 - names from the models, values bound
        params.append(f"{scope.node_path}%" if scope.node_path else "-")  # "-" matches no path
    return sql, params


def _item_lines_from():
    return f"{LINE} l JOIN {SALE} s ON s.id = l.sale_id"


def _whole_sales(scope, period):
    """Yield (sale ids, product ids) arrays of the window's item lines, in sale order, each block whole sales."""
    where, params = _item_lines_where(scope, period)
    tail = np.empty((0, 2), dtype=np.int64)
    # A chunked cursor is a server-side cursor on PostgreSQL: rows arrive as fetched, not all at once.
    with connection.chunked_cursor() as cursor:
        cursor.execute(
            # In the sale's order, not the line's: SQLite then walks the sales in id order, with no sort.
            f"SELECT s.id, l.product_id FROM {_item_lines_from()} WHERE {where} ORDER BY s.id",  # noqa: S608 - names from the models, values bound
            params,
        )
        while rows := cursor.fetchmany(FETCH_ROWS):
            flat = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.int64, count=2 * len(rows))
            block = np.concatenate([tail, flat.reshape(-1, 2)])
            # The last sale may go on in the next fetch: hold it back.
            cut = int(np.searchsorted(block[:, 0], block[-1, 0]))
            tail = block[cut:]
            if cut:
                yield block[:cut, 0], block[:cut, 1]
    if len(tail):
        yield tail[:, 0], tail[:, 1]


def _baskets(sales, products):
    """The block sorted by sale then product, each product once per sale."""
    order = np.lexsort((products, sales))
    sales, products = sales[order], products[order]
    keep = np.ones(len(sales), dtype=bool)
    keep[1:] = (sales[1:] != sales[:-1]) | (products[1:] != products[:-1])
    return sales[keep], products[keep]


def _pair_codes(sales, products):
    """(A << 32) | B for every pair A < B of products in one basket, from arrays sorted as _baskets leaves them."""
    firsts, seconds = [], []
    size = len(sales)
    starts = np.flatnonzero(sales[:-1] == sales[1:])  # items followed by another of their sale
    gap = 1
    while starts.size:
        firsts.append(products[starts])
        seconds.append(products[starts + gap])
        gap += 1
        starts = starts[starts + gap < size]
        starts = starts[sales[starts] == sales[starts + gap]]
    if not firsts:
        return np.empty(0, dtype=np.int64)
    return (np.concatenate(firsts) << PRODUCT_BITS) | np.concatenate(seconds)


class _Tally:
    """Counts of int64 keys, added a block at a time and merged when enough are waiting."""

    def __init__(self):
        self.keys = np.empty(0, dtype=np.int64)
        self.counts = np.empty(0, dtype=np.int64)
        self._waiting = []
        self._waiting_size = 0

    def add(self, values):
        keys, counts = np.unique(values, return_counts=True)
        self._waiting.append((keys, counts))
        self._waiting_size += len(keys)
        if self._waiting_size >= MERGE_CODES:
            self.merge()

    def merge(self):
        """Fold the waiting counts into keys/counts (sorted by key)."""
        if not self._waiting:
            return self
        keys = np.concatenate([self.keys, *(k for k, _ in self._waiting)])
        counts = np.concatenate([self.counts, *(c for _, c in self._waiting)])
        self.keys, where = np.unique(keys, return_inverse=True)
        self.counts = np.bincount(where, weights=counts).astype(np.int64)  # exact below 2**53
        self._waiting, self._waiting_size = [], 0
        return self


def _partners(sales, products, product_id):
    """The other products of the baskets holding `product_id`, from arrays sorted as _baskets leaves them."""
    holding = np.isin(sales, sales[products == product_id])
    return products[holding & (products != product_id)]


def count_baskets(scope, period, *, with_product=None):
    """(N, {product id: n(A)}, keys, counts) of the window, from one streamed query.

    The keys are pair codes and the counts n(AB); with `with_product` X, the keys are the products B
    bought with X and the counts n(XB).
    """
    sales_count, items, together = 0, _Tally(), _Tally()
    for block_sales, block_products in _whole_sales(scope, period):
        block_sales, block_products = _baskets(block_sales, block_products)
        sales_count += int(np.count_nonzero(block_sales[1:] != block_sales[:-1])) + 1
        items.add(block_products)
        if with_product is None:
            together.add(_pair_codes(block_sales, block_products))
        else:
            together.add(_partners(block_sales, block_products, with_product))
    items.merge()
    together.merge()
    per_product = dict(zip(items.keys.tolist(), items.counts.tolist(), strict=True))
    return sales_count, per_product, together.keys, together.counts


# ---- pairs ---------------------------------------------------------------------------------------------------------


def _products(ids):
    return Product.objects.only("id", "sku", "name").in_bulk(list(ids))


def product_pairs(scope, period, *, min_both=DEFAULT_MIN_BOTH, top=DEFAULT_TOP_PAIRS, rank_by="lift"):
    """The top `top` product pairs of the window with n(AB) ≥ `min_both`, by lift or support."""
    if rank_by not in PAIR_RANKINGS:
        raise ValueError(rank_by)
    sales, per_product, codes, both = count_baskets(scope, period)
    kept = both >= min_both
    codes, both = codes[kept], both[kept]
    report = PairReport(sales=sales, pairs_found=len(codes))
    if not len(codes):
        return report
    first = codes >> PRODUCT_BITS
    second = codes & ((1 << PRODUCT_BITS) - 1)
    item_ids = np.array(sorted(per_product), dtype=np.int64)
    item_sales = np.array([per_product[p] for p in item_ids.tolist()], dtype=np.float64)
    sales_a = item_sales[np.searchsorted(item_ids, first)]
    sales_b = item_sales[np.searchsorted(item_ids, second)]
    score = both * sales / (sales_a * sales_b) if rank_by == "lift" else both.astype(np.float64)
    # Best first: score, then more sales with both, then the lower product ids.
    order = np.lexsort((second, first, -both, -score))[:top]
    chosen = [(int(first[i]), int(second[i]), int(both[i])) for i in order]
    products = _products({p for a, b, _ in chosen for p in (a, b)})
    report.pairs = [
        ProductPair(products[a], products[b], n, per_product[a], per_product[b], sales) for a, b, n in chosen
    ]
    return report


def bought_with(
    scope, period, product, *, min_both=DEFAULT_MIN_BOTH, top=DEFAULT_TOP_PAIRS, rank_by="confidence"
):
    """The products bought in the same sales as `product` in the window, by confidence or lift."""
    if rank_by not in PARTNER_RANKINGS:
        raise ValueError(rank_by)
    sales, per_product, others, both = count_baskets(scope, period, with_product=product.pk)
    kept = both >= min_both
    together = list(zip(others[kept].tolist(), both[kept].tolist(), strict=True))
    result = BoughtWith(product, sales, per_product.get(product.pk, 0), partners_found=len(together))
    if not together:
        return result
    partners = [
        ProductPair(product, other, n, result.sales_with, per_product[other], sales) for other, n in together
    ]
    if rank_by == "lift":
        partners.sort(key=lambda p: (-p.lift, -p.both, p.product_b))
    else:
        partners.sort(key=lambda p: (-p.both, p.product_b))
    partners = partners[:top]
    products = _products(p.product_b for p in partners)
    result.partners = [
        ProductPair(product, products[p.product_b], p.both, p.sales_a, p.sales_b, sales) for p in partners
    ]
    return result


# ---- each member's top products ------------------------------------------------------------------------------------


def members_with_products(user):
    """The members `user` may see who bought a product (spend above zero), by member number."""
    bought = MemberProductFacts.objects.filter(member=OuterRef("pk"), spend__gt=0)
    return visible_members(user).filter(Exists(bought)).order_by("member_no", "pk")


def top_products(member_ids, top=DEFAULT_TOP_PRODUCTS) -> dict:
    """{member id: their first `top` MemberProductFacts by spend, then product id} (product loaded)."""
    rank = Window(
        RowNumber(), partition_by=[F("member_id")], order_by=[F("spend").desc(), F("product_id").asc()]
    )
    rows = (
        MemberProductFacts.objects.filter(member_id__in=list(member_ids), spend__gt=0)
        .annotate(rank=rank)
        .filter(rank__lte=top)
        .select_related("product")
        .order_by("member_id", "rank")
    )
    ranked = {}
    for row in rows:
        ranked.setdefault(row.member_id, []).append(row)
    return ranked


def members_top_products(members, top=DEFAULT_TOP_PRODUCTS, chunk=2000):
    """Yield (member, [their top products]) for a queryset of members, `chunk` members per query."""
    batch = []
    for member in members.iterator(chunk_size=chunk):
        batch.append(member)
        if len(batch) == chunk:
            yield from _with_products(batch, top)
            batch = []
    yield from _with_products(batch, top)


def _with_products(members, top):
    ranked = top_products([m.pk for m in members], top) if members else {}
    for member in members:
        yield member, ranked.get(member.pk, [])
