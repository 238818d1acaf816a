"""Promotion and coupon report over the sales (issue 4, item 6): what each promotion and coupon template did
in a period.

All amounts are integer fen. A period is whole local days (Asia/Shanghai), `first` to `last` included.
Sales count when they were made in the period at a store in the viewer's scope (`SaleScope`).

Per promotion:
- sales: the sales whose `Sale.promotions` lists it; members: distinct members among them; sales
  amount: their amount due (the whole sale, not only the lines it touched) and how much of that has
  been returned since;
- discount: the sum of its adjustments on the sale lines (source "promotion:<id>"; order-level amounts
  are spread over the lines, so every fen counts once); net of returns: per line, the adjustment ×
  units kept ÷ units sold, rounded down;
- gifts: units of the gift lines it added (满赠); stock used: units of a limited promotion those sales
  took and a return has not released; left: total stock minus every unreleased use (now, all stores).

Per coupon template:
- issued in the period (coupons of members in scope, and bearer coupons) and where those coupons
  stand now: redeemed (used up), expired (also those past their window that the nightly job has not
  marked yet), void, outstanding (issued, not used up, still valid);
- uses: its coupons applied by the period's sales (a count coupon once per use); discount, net of
  returns, sales, sales amount, returned and members as for promotions (source "coupon:<code>").

The period and the outstanding coupon liability are promotions.reports.

Each figure is one grouped query (no query per row). The JSON lists are expanded in SQL:
`json_each` on SQLite, `jsonb_array_elements` on PostgreSQL.
"""

from dataclasses import dataclass

from django.db import connection
from django.db.models import Count, Q, Sum
from django.utils import timezone

from onecard.org.models import OrgNode
from onecard.promotions.coupon_choices import CouponStatus
from onecard.promotions.models import Coupon, PromotionUse
from onecard.promotions.reports import Report
from onecard.sales.models import Sale, SaleKind, SaleLine


@dataclass(frozen=True)
class SaleScope:
    """Which sales count: a merchant's, at the stores under `node_path` (None: all of them; "": none)."""

    merchant_id: int
    node_path: str | None = None

    @classmethod
    def for_user(cls, user, merchant):
        """The stores a staff member sees: their node and below; everything for a superuser."""
        if user.sees_everything:
            return cls(merchant.pk, None)
        node = user.node if user.node_id else None
        return cls(merchant.pk, node.path if node is not None and node.merchant_id == merchant.pk else "")


# ---- rows ----------------------------------------------------------------------------------------------------


@dataclass
class SalesFigures:
    """What the sales that used a rule did: how many, for how much, how much came back, for whom, the discount."""

    sales: int = 0
    amount: int = 0
    returned: int = 0
    members: int = 0
    discount: int = 0
    discount_net: int = 0

    @property
    def amount_net(self) -> int:
        return self.amount - self.returned


@dataclass
class PromotionLine(SalesFigures):
    """One promotion's figures in the period (the total line has no promotion)."""

    promotion: object = None
    gifts: int = 0
    stock_used: int = 0
    stock_left: int | None = None


@dataclass
class CouponLine(SalesFigures):
    """One coupon template's figures in the period (the total line has no template)."""

    template: object = None
    issued: int = 0
    redeemed: int = 0
    expired: int = 0
    void: int = 0
    outstanding: int = 0
    uses: int = 0


# ---- SQL over the sales ----------------------------------------------------------------------------------------


# Table names: SQLite and PostgreSQL quote alike, and these names are plain.
SALE = f'"{Sale._meta.db_table}"'
LINE = f'"{SaleLine._meta.db_table}"'
COUPON = f'"{Coupon._meta.db_table}"'
USE = f'"{PromotionUse._meta.db_table}"'
NODE = f'"{OrgNode._meta.db_table}"'


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _scalars(column, alias):
    """A FROM item with one row per element of a JSON list of scalars, and the element as text."""
    if _postgres():
        return f"jsonb_array_elements_text({column}) AS {alias}(value)", f"{alias}.value"
    return f"json_each({column}) AS {alias}", f"CAST({alias}.value AS TEXT)"


def _objects(column, alias):
    """A FROM item with one row per element of a JSON list of objects, and a getter of their keys."""
    if _postgres():
        return f"jsonb_array_elements({column}) AS {alias}(value)", lambda key: f"({alias}.value ->> '{key}')"
    return f"json_each({column}) AS {alias}", lambda key: f"json_extract({alias}.value, '$.{key}')"


def _as_int(expression):
    return f"CAST({expression} AS BIGINT)"


def _sales_where(scope, period, alias="s"):
    """WHERE conditions (and their parameters) for the sales of `scope` made in `period`."""
    # Only checkouts use promotions and coupons; a plain charge's reference may repeat across its terminal.
    sql = f"{alias}.kind = %s AND {alias}.merchant_id = %s AND {alias}.created_at >= %s AND {alias}.created_at < %s"
    adapt = connection.ops.adapt_datetimefield_value  # SQLite compares UTC text: bind the times as stored
    params = [SaleKind.CHECKOUT, scope.merchant_id, adapt(period.start), adapt(period.end)]
    if scope.node_path is not None:
        sql += f" AND {alias}.store_id IN (SELECT n.id FROM {NODE} n WHERE n.path LIKE %s)"  # noqa: S608 - names from the models, values bound
        params.append(f"{scope.node_path}%" if scope.node_path else "-")  # "-" matches no path
    return sql, params


def _rows(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _int(value) -> int:
    return int(value or 0)  # PostgreSQL sums bigints as numeric


def _promotion_sales(scope, period) -> dict:
    """{promotion id: SalesFigures} of the sales listing it (one grouped query)."""
    items, value = _scalars("s.promotions", "p")
    where, params = _sales_where(scope, period)
    rows = _rows(
        f"SELECT {_as_int(value)}, COUNT(*), SUM(s.total_due), SUM(s.returned_due), COUNT(DISTINCT s.member_id)"  # noqa: S608 - names from the models, values bound
        f" FROM {SALE} s, {items} WHERE {where} GROUP BY {_as_int(value)}",
        params,
    )
    return {pid: SalesFigures(_int(n), _int(amount), _int(back), _int(m)) for pid, n, amount, back, m in rows}


def _discounts(scope, period, prefix, key_sql=None) -> dict:
    """{key: (discount, net of returns, gift units)} of the line adjustments whose source starts with `prefix`.

    The key is the source itself, or `key_sql` (an expression over the coupon row `c` joined by code).
    """
    items, get = _objects("l.adjustments", "a")
    where, params = _sales_where(scope, period)
    source, amount = get("source"), _as_int(get("amount"))
    tables = f"{LINE} l JOIN {SALE} s ON s.id = l.sale_id, {items}"
    key = source
    if key_sql is not None:
        tables += f", {COUPON} c"
        where += f" AND c.code = SUBSTR({source}, {len(prefix) + 1})"
        key = key_sql
    rows = _rows(
        f"SELECT {key}, SUM({amount}), SUM({amount} * (l.quantity - l.returned_quantity) / l.quantity),"  # noqa: S608 - names from the models, values bound
        f" SUM(CASE WHEN l.gift THEN l.quantity ELSE 0 END)"
        f" FROM {tables} WHERE {where} AND {source} LIKE %s GROUP BY {key}",
        [*params, f"{prefix}%"],
    )
    return {k: (_int(total), _int(net), _int(gifts)) for k, total, net, gifts in rows}


def _stock_used(scope, period) -> dict:
    """{promotion id: units} that the period's sales took from limited promotions and still hold."""
    where, params = _sales_where(scope, period)
    rows = _rows(
        f"SELECT u.promotion_id, SUM(u.quantity) FROM {USE} u"  # noqa: S608 - names from the models, values bound
        f" JOIN {SALE} s ON s.business_ref = u.sale_ref AND s.merchant_id = %s"
        f" WHERE {where} AND u.released_at IS NULL GROUP BY u.promotion_id",
        [scope.merchant_id, *params],
    )
    return {pid: _int(units) for pid, units in rows}


def _stock_taken(promotion_ids) -> dict:
    """{promotion id: units held by every unreleased use}, now, all stores."""
    rows = (
        PromotionUse.objects.filter(promotion_id__in=promotion_ids, released_at__isnull=True)
        .values("promotion_id")
        .annotate(units=Sum("quantity"))
        .order_by()
    )
    return {row["promotion_id"]: row["units"] or 0 for row in rows}


def _distinct_sales(scope, period, exists_sql, exists_params) -> SalesFigures:
    """Sales of the period matching an EXISTS condition, each counted once (for the total lines)."""
    where, params = _sales_where(scope, period)
    ((n, amount, back, members),) = _rows(
        f"SELECT COUNT(*), SUM(s.total_due), SUM(s.returned_due), COUNT(DISTINCT s.member_id)"  # noqa: S608 - names from the models, values bound
        f" FROM {SALE} s WHERE {where} AND EXISTS ({exists_sql})",
        [*params, *exists_params],
    )
    return SalesFigures(_int(n), _int(amount), _int(back), _int(members))


def _placeholders(values) -> str:
    return ", ".join(["%s"] * len(values))


# ---- promotions ------------------------------------------------------------------------------------------------


def promotion_report(promotions, scope, period) -> Report:
    """One line per promotion of `promotions` that overlaps the period or has sales in it; a total line.

    `promotions`: the promotions the viewer may see (a queryset). The total counts each sale once.
    """
    sales = _promotion_sales(scope, period)
    rows = list(
        promotions.filter(
            Q(valid_from__lt=period.end, valid_to__gt=period.start) | Q(pk__in=list(sales))
        ).select_related("node")
    )
    ids = [p.pk for p in rows]
    discounts = _discounts(scope, period, "promotion:")
    used = _stock_used(scope, period)
    limited = [p.pk for p in rows if p.stock_total is not None]
    taken = _stock_taken(limited) if limited else {}
    lines = []
    for promotion in rows:
        figures = sales.get(promotion.pk, SalesFigures())
        discount, net, gifts = discounts.get(f"promotion:{promotion.pk}", (0, 0, 0))
        figures.discount, figures.discount_net = discount, net
        lines.append(
            PromotionLine(
                **vars(figures),
                promotion=promotion,
                gifts=gifts,
                stock_used=used.get(promotion.pk, 0),
                stock_left=None
                if promotion.stock_total is None
                else max(promotion.stock_total - taken.get(promotion.pk, 0), 0),
            )
        )
    lines.sort(key=lambda line: (-line.discount, -line.sales, line.promotion.pk))
    total = PromotionLine()
    if ids:
        items, value = _scalars("s.promotions", "p")
        listed = f"SELECT 1 FROM {items} WHERE {_as_int(value)} IN ({_placeholders(ids)})"  # noqa: S608 - names from the models, values bound
        figures = _distinct_sales(scope, period, listed, ids)
        total = PromotionLine(**vars(figures))
    total.discount = sum(line.discount for line in lines)
    total.discount_net = sum(line.discount_net for line in lines)
    total.gifts = sum(line.gifts for line in lines)
    total.stock_used = sum(line.stock_used for line in lines)
    return Report(lines, total)


# ---- coupons ---------------------------------------------------------------------------------------------------


def _coupon_sales(scope, period) -> dict:
    """{template id: (SalesFigures, uses)} of the sales that applied its coupons; a sale counts once per template."""
    items, value = _scalars("s.coupons", "j")
    where, params = _sales_where(scope, period)
    rows = _rows(
        "SELECT t.template_id, COUNT(*), SUM(t.total_due), SUM(t.returned_due), COUNT(DISTINCT t.member_id),"  # noqa: S608 - names from the models, values bound
        " SUM(t.uses) FROM ("
        f"SELECT s.id, c.template_id, s.total_due, s.returned_due, s.member_id, COUNT(*) AS uses"
        f" FROM {SALE} s, {items}, {COUPON} c WHERE {where} AND c.code = {value}"
        " GROUP BY s.id, c.template_id, s.total_due, s.returned_due, s.member_id) t GROUP BY t.template_id",
        params,
    )
    return {
        tid: (SalesFigures(_int(n), _int(amount), _int(back), _int(m)), _int(uses))
        for tid, n, amount, back, m, uses in rows
    }


def _issued_states(coupons, period, now) -> dict:
    """{template id: counts} of the coupons issued in the period, by where they stand now (one grouped query)."""
    lapsed = Q(status=CouponStatus.ISSUED, valid_until__lte=now)
    rows = (
        coupons.filter(issued_at__gte=period.start, issued_at__lt=period.end)
        .values("template_id")
        .annotate(
            issued=Count("id"),
            redeemed=Count("id", filter=Q(status=CouponStatus.REDEEMED)),
            expired=Count("id", filter=Q(status=CouponStatus.EXPIRED) | lapsed),
            void=Count("id", filter=Q(status=CouponStatus.VOID)),
            outstanding=Count("id", filter=Q(status=CouponStatus.ISSUED, valid_until__gt=now)),
        )
        .order_by()
    )
    return {row.pop("template_id"): row for row in rows}


def coupon_report(templates, coupons, scope, period, *, now=None) -> Report:
    """One line per template of `templates` that is active or has a figure in the period; a total line.

    `templates` and `coupons`: what the viewer may see (coupon_queries.visible_templates / visible_coupons).
    """
    now = now or timezone.now()
    states = _issued_states(coupons, period, now)
    sales = _coupon_sales(scope, period)
    discounts = _discounts(scope, period, "coupon:", key_sql="c.template_id")
    lines = []
    for template in templates.order_by("name", "pk"):
        figures, uses = sales.get(template.pk, (SalesFigures(), 0))
        discount, net, _gifts = discounts.get(template.pk, (0, 0, 0))
        counts = states.get(template.pk, {})
        if not (template.active or counts or uses):
            continue
        figures.discount, figures.discount_net = discount, net
        lines.append(CouponLine(**vars(figures), template=template, uses=uses, **counts))
    total = CouponLine()
    ids = [line.template.pk for line in lines]
    if ids:
        items, value = _scalars("s.coupons", "j")
        figures = _distinct_sales(
            scope,
            period,
            f"SELECT 1 FROM {items}, {COUPON} c WHERE c.code = {value}"  # noqa: S608 - names from the models, values bound
            f" AND c.template_id IN ({_placeholders(ids)})",
            ids,
        )
        total = CouponLine(**vars(figures))
    for name in ("issued", "redeemed", "expired", "void", "outstanding", "uses", "discount", "discount_net"):
        setattr(total, name, sum(getattr(line, name) for line in lines))
    return Report(lines, total)
