"""The lists behind the dashboards' charts: what a click on a bar, a slice or a point opens.

Each list is the rows one figure of a chart sums, in the same scope and period (dashboards.DashboardScope,
dashboards.Period): the sales of a day, of a tender or of a store; the top-ups of a day; the sale lines of a
product or a category; the members of a class, a stage, a tier or who joined in a bucket; the ledger
movements that changed the liability in a bucket. A filter the list does not know, or a bucket outside
the period, shows nothing rather than everything.
"""

from dataclasses import dataclass

from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from onecard.analytics.choices import LifeStage, RfmClass
from onecard.analytics.dashboards.scope import DashboardScope, Period
from onecard.analytics.models import MemberFacts
from onecard.catalog.models import Category, Product
from onecard.loyalty.ledger.choices import AccountKind
from onecard.loyalty.models import CardTransaction, Posting, Tier
from onecard.loyalty.stored_value.liability import LIABILITY_KINDS
from onecard.members.models import Member
from onecard.org.models import OrgNode
from onecard.sales.models import Sale, SaleLine, TenderKind

NOTHING = Q(pk__in=[])


@dataclass(frozen=True)
class Column:
    """One column of a list: its header, how to read it from a row, and what it holds."""

    header: str
    read: object  # row → value
    kind: str = "text"  # "text", "fen", "int", "time", "points"


@dataclass(frozen=True)
class DrillList:
    """A list behind a chart: its title, the filters it takes, who may open it, its rows and columns."""

    name: str
    title: str
    params: tuple
    columns: tuple
    rows: object  # (scope, period, params) → queryset
    for_cashier: bool = True


def _bucket_q(period: Period, text, path) -> Q:
    bucket = period.bucket(text)
    if bucket is None:
        return NOTHING
    start, end = period.bounds(bucket)
    return Q(**{f"{path}__gte": start, f"{path}__lt": end})


def _id_q(text, path) -> Q:
    return Q(**{path: int(text)}) if (text or "").isdigit() else NOTHING


def _one_filter(params, names):
    """(name, value) of the first filter given, or (None, None)."""
    return next(((name, params[name]) for name in names if params.get(name)), (None, None))


def _sale_rows(scope: DashboardScope, period: Period, params):
    """The money sales in scope and period, narrowed by bucket, tender, store or stored-value bucket."""
    rows = Sale.objects.filter(scope.sales(period))
    name, value = _one_filter(params, ("bucket", "sv_bucket", "tender", "store"))
    if name in ("bucket", "sv_bucket"):
        rows = rows.filter(_bucket_q(period, value, "created_at"))
        if name == "sv_bucket":
            rows = rows.filter(tenders__kind=TenderKind.STORED_VALUE)
    elif name == "tender":
        rows = rows.filter(tenders__kind=value) if value in TenderKind.values else rows.filter(NOTHING)
    elif name == "store":
        rows = rows.filter(_id_q(value, "store_id"))
    return rows.distinct().select_related("store", "actor", "member").order_by("-created_at", "-id")


def _topup_rows(scope, period, params):
    rows = CardTransaction.objects.filter(scope.topups(period))
    if params.get("bucket"):
        rows = rows.filter(_bucket_q(period, params["bucket"], "created_at"))
    return rows.select_related("card", "member", "store", "actor").order_by("-created_at", "-id")


def _line_rows(scope, period, params):
    rows = SaleLine.objects.filter(scope.sales(period, "sale__"), product__isnull=False)
    name, value = _one_filter(params, ("product", "category"))
    if name == "product":
        rows = rows.filter(_id_q(value, "product_id"))
    elif name == "category":
        rows = (
            rows.filter(product__category__isnull=True)
            if value == "none"
            else rows.filter(_id_q(value, "product__category_id"))
        )
    return rows.select_related("sale", "sale__store", "product").order_by("-sale__created_at", "-id")


def _member_rows(scope, period, params):
    rows = Member.objects.filter(scope.members())
    name, value = _one_filter(params, ("joined", "rfm", "stage", "tier"))
    if name == "joined":
        rows = rows.filter(_bucket_q(period, value, "created_at"))
    elif name in ("rfm", "stage"):
        column = "rfm_class" if name == "rfm" else "life_stage"
        value = "" if value == "none" else value
        rows = rows.filter(pk__in=MemberFacts.objects.filter(**{column: value}).values("member_id"))
    elif name == "tier":
        rows = rows.filter(_id_q(value, "tier_state__tier_id"))
    return rows.select_related("home_store", "facts", "tier_state__tier").order_by("-created_at", "-id")


def _movement_rows(scope, period, params):
    name, value = _one_filter(params, ("bucket", "points_bucket"))
    kinds = (AccountKind.MEMBER_POINTS,) if name == "points_bucket" else LIABILITY_KINDS
    rows = Posting.objects.filter(
        scope.liability_accounts(kinds, "account__"), account__merchant_id=scope.merchant_id
    )
    rows = rows.filter(_bucket_q(period, value, "entry__created_at"))
    return (
        rows.select_related("entry", "entry__node", "account", "account__member")
        .annotate(time=F("entry__created_at"))
        .order_by("-entry__created_at", "-id")
    )


def _facts(member, column):
    facts = getattr(member, "facts", None)
    return facts and getattr(facts, f"get_{column}_display")()


def _tier(member):
    state = getattr(member, "tier_state", None)
    return state.tier.name if state else ""


LISTS = {
    "sales": DrillList(
        "sales", _("Sales"), ("bucket", "sv_bucket", "tender", "store"),
        (
            Column(_("Time"), lambda s: s.created_at, "time"),
            Column(_("Reference"), lambda s: s.business_ref),
            Column(_("Kind"), lambda s: s.get_kind_display()),
            Column(_("Store"), lambda s: s.store.name),
            Column(_("Cashier"), lambda s: str(s.actor) if s.actor else ""),
            Column(_("Member"), lambda s: s.member.member_no if s.member else ""),
            Column(_("Amount due"), lambda s: s.total_due, "fen"),
            Column(_("Returned"), lambda s: s.returned_due, "fen"),
            Column(_("Takings"), lambda s: s.total_due - s.returned_due, "fen"),
        ),
        _sale_rows,
    ),
    "topups": DrillList(
        "topups", _("Top-ups"), ("bucket",),
        (
            Column(_("Time"), lambda t: t.created_at, "time"),
            Column(_("Card no."), lambda t: t.card.number),
            Column(_("Member"), lambda t: t.member.member_no if t.member else ""),
            Column(_("Store"), lambda t: t.store.name),
            Column(_("Cashier"), lambda t: str(t.actor) if t.actor else ""),
            Column(_("Principal"), lambda t: t.principal, "fen"),
            Column(_("Bonus"), lambda t: t.bonus, "fen"),
        ),
        _topup_rows,
    ),
    "lines": DrillList(
        "lines", _("Sale lines"), ("product", "category"),
        (
            Column(_("Time"), lambda line: line.sale.created_at, "time"),
            Column(_("Reference"), lambda line: line.sale.business_ref),
            Column(_("Store"), lambda line: line.sale.store.name),
            Column(_("SKU"), lambda line: line.sku),
            Column(_("Product"), lambda line: line.product.name if line.product else line.name),
            Column(_("Units"), lambda line: line.quantity, "int"),
            Column(_("Units returned"), lambda line: line.returned_quantity, "int"),
            Column(_("Due"), lambda line: line.due, "fen"),
            Column(_("Returned"), lambda line: line.returned_due, "fen"),
            Column(_("Takings"), lambda line: line.due - line.returned_due, "fen"),
        ),
        _line_rows,
    ),
    "members": DrillList(
        "members", _("Members"), ("joined", "rfm", "stage", "tier"),
        (
            Column(_("Member no."), lambda m: m.member_no),
            Column(pgettext_lazy("person", "Name"), lambda m: m.name),
            Column(_("Home store"), lambda m: m.home_store.name if m.home_store else ""),
            Column(_("Joined"), lambda m: m.created_at, "time"),
            Column(_("RFM class"), lambda m: _facts(m, "rfm_class") or ""),
            Column(_("Life-cycle stage"), lambda m: _facts(m, "life_stage") or ""),
            Column(_("Tier"), _tier),
        ),
        _member_rows,
        for_cashier=False,
    ),
    "movements": DrillList(
        "movements", _("Liability movements"), ("bucket", "points_bucket"),
        (
            Column(_("Time"), lambda p: p.entry.created_at, "time"),
            Column(_("Entry"), lambda p: p.entry.get_kind_display()),
            Column(_("Store"), lambda p: p.entry.node.name if p.entry.node else ""),
            Column(_("Member"), lambda p: p.account.member.member_no if p.account.member else ""),
            Column(_("Account"), lambda p: p.account.get_kind_display()),
            Column(_("Amount"), lambda p: p.amount, "int"),
        ),
        _movement_rows,
        for_cashier=False,
    ),
}  # fmt: skip


def drill_rows(drill: DrillList, scope, period, params):
    """The rows of `drill` for the scope, period and filters (a QueryDict or dict)."""
    return drill.rows(scope, period, {name: params.get(name) for name in drill.params})


def _name_of(model, scope, value, **extra):
    if not (value or "").isdigit():
        return value
    name = model.objects.filter(pk=int(value), merchant_id=scope.merchant_id, **extra).values_list(
        "name", flat=True
    )
    return name.first() or value


def _filter_value(name, value, scope, period):
    """What a filter's value means to a reader: a day, a tender's, store's, product's or class's name."""
    if name in ("bucket", "sv_bucket", "joined", "points_bucket"):
        bucket = period.bucket(value)
        return period.label(bucket) if bucket else value
    if name == "tender":
        return dict(TenderKind.choices).get(value, value)
    if name == "store":
        nodes = {} if scope.node_ids is None else {"pk__in": scope.node_ids}
        return _name_of(OrgNode, scope, value, **nodes)
    if name in ("rfm", "stage"):
        if value == "none":
            return _("Not scored yet")
        return dict((RfmClass if name == "rfm" else LifeStage).choices).get(value, value)
    if name == "category" and value == "none":
        return _("(no category)")
    models = {"product": Product, "category": Category, "tier": Tier}
    return _name_of(models[name], scope, value) if name in models else value


FILTER_LABELS = {
    "bucket": _("Period"),
    "sv_bucket": _("Paid with stored value in"),
    "points_bucket": _("Points moved in"),
    "joined": _("Joined in"),
    "tender": _("Tender"),
    "store": _("Store"),
    "product": _("Product"),
    "category": _("Category"),
    "rfm": _("RFM class"),
    "stage": _("Life-cycle stage"),
    "tier": _("Tier"),
}


def describe_filters(drill: DrillList, scope, period, params) -> list:
    """[(label, value as a reader knows it)] of the filters given to `drill`."""
    return [
        (FILTER_LABELS[name], _filter_value(name, params[name], scope, period))
        for name in drill.params
        if params.get(name)
    ]
