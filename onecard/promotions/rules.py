"""Services for promotions: create, change and deactivate (validated per kind, audited, scoped), the
promotions in force for a store, and the limited-quantity bookkeeping the checkout uses.

Validation: every field and every parameter is checked before anything is written; the first bad one
raises `PromotionInvalid` with its own code (promotion_errors.MESSAGES). Rates are Decimal text with at
most three decimals, the share of the price that is paid ("0.850" = 15% off); amounts are integer fen.
Scope: a promotion is owned by head office or a region; the actor must see that node (a region
manager works only for its region's stores, HQ for all).
Limited quantity: `reserve` locks the promotion row (SELECT … FOR UPDATE) and counts the unreleased
uses, so concurrent checkouts cannot oversell; `release` gives a sale's units back on a return.
"""

import datetime
import time
from decimal import Decimal, InvalidOperation

from django.db import connection, transaction
from django.db.backends import signals as signals_db
from django.db.models import Q, Sum, signals
from django.db.models.expressions import Col
from django.utils import timezone

from onecard.core import audit
from onecard.core.scoping import require_node_in_scope
from onecard.loyalty.models import Tier
from onecard.org.choices import NodeKind
from onecard.org.models import OrgNode

from . import pricing
from .models import Promotion, PromotionKind, PromotionUse
from .promotion_errors import (
    PromotionInactive,
    PromotionMemberLimit,
    PromotionSoldOut,
    invalid,
)

FIELDS = (
    "name",
    "kind",
    "params",
    "store_ids",
    "product_ids",
    "category_ids",
    "valid_from",
    "valid_to",
    "weekdays",
    "time_from",
    "time_to",
    "priority",
    "exclusive_group",
    "stacks_with_coupons",
    "applies_over_member_price",
    "stock_total",
    "per_member_limit",
)

# kind → (required parameters, optional parameters)
PARAMETERS = {
    PromotionKind.MEMBER_PRICE: (("rate",), ("tier_ids",)),
    PromotionKind.DISCOUNT: (("rate",), ()),
    PromotionKind.THRESHOLD_CASH: (("steps",), ("repeat",)),
    PromotionKind.THRESHOLD_DISCOUNT: (("min", "rate"), ()),
    PromotionKind.THRESHOLD_GIFT: (("min", "gift_product_id"), ("gift_quantity",)),
    PromotionKind.BUY_X_GET_Y: (("buy", "free"), ()),
    PromotionKind.NTH_DISCOUNT: (("nth", "rate"), ()),
    PromotionKind.BUNDLE: (("product_ids", "price"), ()),
    PromotionKind.BIRTHDAY: (("window",), ("rate", "amount_off")),
}
MAX_FEN = 10**12
AUDIT_EXCLUDE = ("updated_at",)


def _int(value, minimum=1):
    """`value` as an int of at least `minimum`, or None (bools and fractions are not ints here)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if not isinstance(value, int) or value < minimum or value > MAX_FEN:
        return None
    return value


def _rate(value):
    """A rate as normalised text ("0.850" → "0.85"), or None when not strictly between 0 and 1 with ≤ 3 decimals."""
    if isinstance(value, (bool, float)) or value is None:
        return None
    try:
        rate = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    if not rate.is_finite() or not 0 < rate < 1 or rate != rate.quantize(Decimal("0.001")):
        return None
    return str(rate.normalize())


def _ids(value, code):
    if value in (None, ""):
        return []
    if not isinstance(value, (list, tuple)):
        raise invalid(code)
    ids = [_int(item) for item in value]
    if any(item is None for item in ids):
        raise invalid(code)
    return sorted(set(ids))


def _required_int(params, name, code, minimum=1):
    value = _int(params.get(name), minimum)
    if value is None:
        raise invalid(code)
    return value


def _required_rate(params):
    rate = _rate(params.get("rate"))
    if rate is None:
        raise invalid("promotion_invalid_rate")
    return rate


def clean_params(merchant, kind, params) -> dict:
    """The parameters of `kind`, checked and normalised; raises PromotionInvalid with the first bad one's code."""
    if kind not in PARAMETERS:
        raise invalid("promotion_invalid_kind")
    if not isinstance(params, dict):
        raise invalid("promotion_unknown_parameter", name="?")
    required, optional = PARAMETERS[kind]
    for name in params:
        if name not in required and name not in optional:
            raise invalid("promotion_unknown_parameter", name=name)
    p, out = params, {}
    if kind in (PromotionKind.MEMBER_PRICE, PromotionKind.DISCOUNT, PromotionKind.THRESHOLD_DISCOUNT):
        out["rate"] = _required_rate(p)
    if kind == PromotionKind.MEMBER_PRICE:
        tier_ids = _ids(p.get("tier_ids"), "promotion_invalid_tiers")
        if tier_ids and Tier.objects.filter(merchant=merchant, pk__in=tier_ids).count() != len(tier_ids):
            raise invalid("promotion_invalid_tiers")
        out["tier_ids"] = tier_ids
    elif kind == PromotionKind.THRESHOLD_CASH:
        steps = p.get("steps")
        if not isinstance(steps, list) or not steps or not all(isinstance(s, dict) for s in steps):
            raise invalid("promotion_invalid_steps")
        cleaned = []
        for step in steps:
            minimum, off = _int(step.get("min")), _int(step.get("off"))
            if minimum is None or off is None or off > minimum or set(step) - {"min", "off"}:
                raise invalid("promotion_invalid_steps")
            cleaned.append({"min": minimum, "off": off})
        cleaned.sort(key=lambda s: s["min"])
        if len({s["min"] for s in cleaned}) != len(cleaned) or (p.get("repeat") and len(cleaned) != 1):
            raise invalid("promotion_invalid_steps")
        if any(a["off"] >= b["off"] for a, b in zip(cleaned, cleaned[1:], strict=False)):
            raise invalid("promotion_invalid_steps")
        out["steps"] = cleaned
        out["repeat"] = bool(p.get("repeat"))
    elif kind == PromotionKind.THRESHOLD_DISCOUNT:
        out["min"] = _required_int(p, "min", "promotion_invalid_threshold")
    elif kind == PromotionKind.THRESHOLD_GIFT:
        out["min"] = _required_int(p, "min", "promotion_invalid_threshold")
        out["gift_product_id"] = _required_int(p, "gift_product_id", "promotion_invalid_gift")
        out["gift_quantity"] = _required_int({"q": p.get("gift_quantity", 1)}, "q", "promotion_invalid_gift")
    elif kind == PromotionKind.BUY_X_GET_Y:
        out["buy"] = _required_int(p, "buy", "promotion_invalid_buy_get")
        out["free"] = _required_int(p, "free", "promotion_invalid_buy_get")
    elif kind == PromotionKind.NTH_DISCOUNT:
        out["nth"] = _required_int(p, "nth", "promotion_invalid_nth", minimum=2)
        out["rate"] = _required_rate(p)
    elif kind == PromotionKind.BUNDLE:
        products = _ids(p.get("product_ids"), "promotion_invalid_bundle")
        if len(products) < 2:
            raise invalid("promotion_invalid_bundle")
        out["product_ids"] = products
        out["price"] = _required_int(p, "price", "promotion_invalid_bundle")
    elif kind == PromotionKind.BIRTHDAY:
        if p.get("window") not in ("day", "week", "month"):
            raise invalid("promotion_invalid_window")
        out["window"] = p["window"]
        has_rate, has_amount = p.get("rate") not in (None, ""), p.get("amount_off") not in (None, "")
        if has_rate == has_amount:
            raise invalid("promotion_invalid_birthday_offer")
        if has_rate:
            out["rate"] = _required_rate(p)
        else:
            out["amount_off"] = _required_int(p, "amount_off", "promotion_invalid_amount")
    return out


def _clean(merchant, node, data) -> dict:
    """Every field of a promotion checked in a fixed order; the first bad one raises."""
    if node is None or node.merchant_id != merchant.pk or node.kind not in (NodeKind.HQ, NodeKind.REGION):
        raise invalid("promotion_invalid_owner")
    name = (data.get("name") or "").strip()
    if not name:
        raise invalid("promotion_name_required")
    kind = data.get("kind")
    out = {"name": name[:80], "kind": kind, "params": clean_params(merchant, kind, data.get("params") or {})}
    store_ids = _ids(data.get("store_ids"), "promotion_invalid_stores")
    if store_ids:
        stores = OrgNode.objects.filter(pk__in=store_ids, kind=NodeKind.STORE, path__startswith=node.path)
        if stores.count() != len(store_ids):
            raise invalid("promotion_invalid_stores")
    out["store_ids"] = store_ids
    out["product_ids"] = _ids(data.get("product_ids"), "promotion_invalid_targets")
    out["category_ids"] = _ids(data.get("category_ids"), "promotion_invalid_targets")
    valid_from, valid_to = data.get("valid_from"), data.get("valid_to")
    if not isinstance(valid_from, datetime.datetime) or not isinstance(valid_to, datetime.datetime):
        raise invalid("promotion_invalid_dates")
    if valid_to <= valid_from:
        raise invalid("promotion_invalid_dates")
    out["valid_from"], out["valid_to"] = valid_from, valid_to
    weekdays = _ids(data.get("weekdays"), "promotion_invalid_weekdays")
    if any(day > 7 for day in weekdays):
        raise invalid("promotion_invalid_weekdays")
    out["weekdays"] = weekdays
    time_from, time_to = data.get("time_from"), data.get("time_to")
    if (time_from is None) != (time_to is None) or (time_from is not None and time_from >= time_to):
        raise invalid("promotion_invalid_time_window")
    out["time_from"], out["time_to"] = time_from, time_to
    priority = data.get("priority") or 0
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise invalid("promotion_invalid_limit")
    out["priority"] = priority
    out["exclusive_group"] = (data.get("exclusive_group") or "").strip()[:40]
    out["stacks_with_coupons"] = bool(data.get("stacks_with_coupons", True))
    out["applies_over_member_price"] = bool(data.get("applies_over_member_price", True))
    for name in ("stock_total", "per_member_limit"):
        value = data.get(name)
        if value in (None, ""):
            out[name] = None
        elif _int(value) is None:
            raise invalid("promotion_invalid_limit")
        else:
            out[name] = _int(value)
    return out


def checked_values(merchant, node, data, *, promotion=None) -> dict:
    """The fields create_promotion (or update_promotion of `promotion`) would store; the first bad one raises."""
    if promotion is not None:
        data = {**{name: getattr(promotion, name) for name in FIELDS}, **data}
    return _clean(merchant, node, data)


def _require_scope(actor, node):
    if actor is not None:
        require_node_in_scope(actor, node)


def create_promotion(actor, merchant, node, data) -> Promotion:
    """A new promotion owned by `node` (HQ or a region in the actor's scope), validated per kind and audited."""
    _require_scope(actor, node)
    values = _clean(merchant, node, data)
    with transaction.atomic():
        promotion = Promotion.objects.create(merchant=merchant, node=node, **values)
        audit.record(
            actor, "create", promotion, after=audit.snapshot(promotion), node=node, merchant=merchant
        )
    return promotion


def update_promotion(actor, promotion, data, *, node=None) -> Promotion:
    """Change a promotion (optionally moving it to another owner node in scope); audited with before/after."""
    _require_scope(actor, promotion.node)
    node = node or promotion.node
    _require_scope(actor, node)
    values = checked_values(promotion.merchant, node, data, promotion=promotion)
    with transaction.atomic():
        row = Promotion.objects.select_for_update().get(pk=promotion.pk)
        before = audit.snapshot(row, exclude=AUDIT_EXCLUDE)
        row.node = node
        for name, value in values.items():
            setattr(row, name, value)
        row.save()
        row.refresh_from_db()  # datetimes back in the database's form, so unchanged ones do not show as changed
        old, new = audit.diff(before, audit.snapshot(row, exclude=AUDIT_EXCLUDE))
        audit.record(actor, "update", row, before=old, after=new, node=node, merchant=row.merchant)
    return row


def deactivate_promotion(actor, promotion) -> Promotion:
    """Stop a promotion now; it stays listed (and counted in reports) but no longer prices carts."""
    _require_scope(actor, promotion.node)
    with transaction.atomic():
        row = Promotion.objects.select_for_update().get(pk=promotion.pk)
        if row.active:
            row.active = False
            row.save(update_fields=["active", "updated_at"])
            audit.record(
                actor,
                "update",
                row,
                before={"active": True},
                after={"active": False},
                node=row.node,
                merchant=row.merchant,
            )
    return row


def _ancestor_ids(node) -> list[int]:
    return [int(part) for part in node.path.strip("/").split("/") if part]


def in_window(promotion, local: datetime.datetime) -> bool:
    """True when `local` falls on one of the promotion's weekdays and within its daily hours (dates aside)."""
    if promotion.weekdays and local.isoweekday() not in promotion.weekdays:
        return False
    return promotion.time_from is None or promotion.time_from <= local.time() < promotion.time_to


# The promotions in force are read by every quote and change a few times a day. Each process keeps a
# merchant's active, not yet ended promotions (with their pricing Rules) for CACHE_SECONDS, and checks
# on every read with one small aggregate (count, id sum, latest change) that none was created,
# changed, stopped or deleted since, so a change made by any process counts at once. A save or delete
# in this process also clears its copy (the receivers below). Only a bulk `QuerySet.update` that leaves
# `updated_at` alone goes unseen, for at most CACHE_SECONDS.
CACHE_SECONDS = 10.0
_cache: dict = {}


def forget_cached_promotions(**_kwargs):
    """Drop this process's cached promotions (a promotion changed, a new connection, a test starting)."""
    _cache.clear()


signals.post_save.connect(forget_cached_promotions, sender=Promotion, dispatch_uid="forget_promotions_saved")
signals.post_delete.connect(
    forget_cached_promotions, sender=Promotion, dispatch_uid="forget_promotions_deleted"
)
# A rolled-back transaction may have filled the cache with rows that never existed.
signals_db.connection_created.connect(forget_cached_promotions, dispatch_uid="forget_promotions_on_connect")


def _version(rows) -> tuple:
    return (len(rows), sum(row.pk for row in rows), max((row.updated_at for row in rows), default=None))


def _current_version(merchant_id, since) -> tuple:
    """_version of the rows _load(merchant_id, since) would read now, in plain SQL (it runs on every quote)."""
    q = connection.ops.quote_name
    field = Promotion._meta.get_field
    sql = (
        f"SELECT COUNT(*), SUM(id), MAX({q(field('updated_at').column)}) FROM {q(Promotion._meta.db_table)} "  # noqa: S608 - names from the models, values bound
        f"WHERE {q(field('merchant').column)} = %s AND {q(field('active').column)} = %s "
        f"AND {q(field('valid_to').column)} > %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [merchant_id, True, since])
        count, ids, latest = cursor.fetchone()
    updated_at = Promotion._meta.get_field("updated_at")
    for convert in connection.ops.get_db_converters(Col(Promotion._meta.db_table, updated_at)):
        latest = convert(latest, updated_at, connection)
    return (count, ids or 0, latest)


def _load(merchant_id, since) -> list[Promotion]:
    rows = list(
        Promotion.objects.filter(merchant_id=merchant_id, active=True, valid_to__gt=since).order_by(
            "-priority", "pk"
        )
    )
    for row in rows:
        row.pricing_rule = pricing.to_rule(row)
    return rows


def _merchant_promotions(merchant_id, at) -> list[Promotion]:
    """The merchant's active promotions that end after `at`, from this process's cache when still current."""
    now = time.monotonic()
    hit = _cache.get(merchant_id)
    if hit is not None:
        expires, since, version, rows = hit
        if since <= at and expires > now and _current_version(merchant_id, since) == version:
            return rows
    if hit is not None and at < hit[1] or at > timezone.now():
        # A quote in the past (the demo's moved clock) or the future: read it directly, keep the cache.
        return _load(merchant_id, at)
    rows = _load(merchant_id, at)
    _cache[merchant_id] = (now + CACHE_SECONDS, at, _version(rows), rows)
    return rows


def active_promotions(merchant, store, at=None) -> list[Promotion]:
    """The promotions in force in `store` at `at` (now): active, dated, owned by the store's HQ or region,
    for that store, on that weekday and in their daily time window (Asia/Shanghai); highest priority first.

    The rows may be shared with other callers of this process (the cache above): read them, never change them.
    """
    at = at or timezone.now()
    local = timezone.localtime(at)
    owners = set(_ancestor_ids(store))
    return [
        row
        for row in _merchant_promotions(getattr(merchant, "pk", merchant), at)
        if row.valid_from <= at < row.valid_to
        and row.node_id in owners
        and (not row.store_ids or store.pk in row.store_ids)
        and in_window(row, local)
    ]


def used_counts(promotions, member=None) -> dict[int, tuple[int, int]]:
    """For the limited promotions among `promotions`: id → (units used in total, units used by `member`)."""
    limited = [p.pk for p in promotions if p.stock_total is not None or p.per_member_limit is not None]
    if not limited:
        return {}
    member_id = getattr(member, "pk", member)
    rows = (
        PromotionUse.objects.filter(promotion_id__in=limited, released_at__isnull=True)
        .values("promotion_id")
        .annotate(total=Sum("quantity"), mine=Sum("quantity", filter=Q(member_id=member_id)))
    )
    counts = {pk: (0, 0) for pk in limited}
    for row in rows:
        counts[row["promotion_id"]] = (row["total"] or 0, (row["mine"] or 0) if member_id else 0)
    return counts


def reserve(promotion, member, quantity, sale_ref) -> PromotionUse:
    """Take `quantity` units of a promotion for sale `sale_ref` under a row lock; refused when sold out or
    over the member's cap. The same sale reserving again gets its existing use back (idempotent)."""
    if _int(quantity) is None:
        raise invalid("promotion_invalid_limit")
    with transaction.atomic():
        row = Promotion.objects.select_for_update().get(pk=getattr(promotion, "pk", promotion))
        existing = PromotionUse.objects.filter(promotion=row, sale_ref=sale_ref).first()
        if existing is not None:
            return existing
        if not row.active:
            raise PromotionInactive()
        uses = PromotionUse.objects.filter(promotion=row, released_at__isnull=True)
        if row.stock_total is not None:
            taken = uses.aggregate(n=Sum("quantity"))["n"] or 0
            if taken + quantity > row.stock_total:
                raise PromotionSoldOut()
        if row.per_member_limit is not None and member is not None:
            mine = uses.filter(member=member).aggregate(n=Sum("quantity"))["n"] or 0
            if mine + quantity > row.per_member_limit:
                raise PromotionMemberLimit()
        return PromotionUse.objects.create(promotion=row, member=member, quantity=quantity, sale_ref=sale_ref)


def release(sale_ref, promotion=None) -> int:
    """Give back the units a sale took (on its return); the number of uses released. Releasing twice is a no-op."""
    uses = PromotionUse.objects.filter(sale_ref=sale_ref, released_at__isnull=True)
    if promotion is not None:
        uses = uses.filter(promotion=promotion)
    return uses.update(released_at=timezone.now())


def quote(cart, merchant, store, member=None):
    """Price `cart` with the promotions in force for `store` at `cart.at` and the member's used counts."""
    promotions = active_promotions(merchant, store, cart.at)
    return pricing.price_cart(cart, promotions, used_counts=used_counts(promotions, member))
