"""Coupons at the till (P3): presenting codes (why one is refused, what the pricing engine gets),
redeeming them in a sale and restoring them on a return. The rules are in coupons.py's docstring.
"""

from django.db import connection, transaction
from django.utils import timezone

from onecard.core import audit
from onecard.core import rows as sql_rows
from onecard.org.models import OrgNode

from .cart import CouponOffer
from .coupon_choices import CouponKind, CouponStatus, RestorePolicy
from .coupon_codes import is_well_formed, normalize_code, validate_code
from .coupon_errors import (
    CouponCodeInvalid,
    CouponExpired,
    CouponNotFound,
    CouponNotRedeemed,
    CouponNotValidHere,
    CouponNotYetValid,
    CouponNotYours,
    CouponUsed,
    CouponVoid,
)
from .models import Coupon, CouponTemplate


def _valid_here(coupon, store) -> bool:
    template = coupon.template
    listed = getattr(coupon, "store_listed", None)  # read with the coupon by _presented
    if listed is not None:
        if listed:
            return bool(coupon.listed_here)
    else:
        store_ids = [s.pk for s in template.stores.all()]
        if store_ids:
            return store.pk in store_ids
    return store.merchant_id == coupon.merchant_id and store.path.startswith(template.node.path)


def refusal(coupon, *, member, store, at):
    """The BusinessError that stops this coupon being used by `member` at `store` at `at`, or None."""
    if coupon.status == CouponStatus.REDEEMED:
        return CouponUsed()
    if coupon.status == CouponStatus.VOID:
        return CouponVoid()
    if coupon.status == CouponStatus.EXPIRED or at >= coupon.valid_until:
        return CouponExpired()
    if at < coupon.valid_from:
        return CouponNotYetValid()
    if not _valid_here(coupon, store):
        return CouponNotValidHere()
    if coupon.member_id is not None and (member is None or member.pk != coupon.member_id):
        return CouponNotYours()
    return None


def offer_of(coupon) -> CouponOffer:
    """What the pricing engine needs to know about a coupon."""
    t = coupon.template
    return CouponOffer(
        code=coupon.code,
        template_id=t.pk,
        kind=t.kind,
        value=coupon.uses_left if t.kind == CouponKind.COUNT else t.value,
        min_spend=t.min_spend,
        cap=t.cap,
        gift_product_id=t.gift_product_id,
        product_ids=tuple(t.product_ids or ()),
        category_ids=tuple(t.category_ids or ()),
        stacks_with_promotions=t.stacks_with_promotions,
    )


# What `refusal` and `offer_of` read (_presented reads only these; the others are deferred, as with only()).
OFFER_FIELDS = {
    Coupon: ("template", "merchant", "member", "code", "status", "valid_from", "valid_until", "uses_left"),
    CouponTemplate: ("merchant", "node", "kind", "value", "min_spend", "cap", "gift_product_id", "product_ids",
                     "category_ids", "stacks_with_promotions"),
    OrgNode: ("merchant", "path"),
}  # fmt: skip


def _presented(codes, store) -> list[Coupon]:
    """The merchant's coupons with these codes, each with its template and the template's owner node, and
    `store_listed` (the template lists stores) / `listed_here` (`store` is one of them): one plain-SQL
    statement, the ORM's select_related and two EXISTS (core.rows: this runs on every quote)."""
    if not codes:
        return []
    through = CouponTemplate.stores.through
    links = (
        f"SELECT 1 FROM {sql_rows.table(through)} s "  # noqa: S608 - names from the models, values bound
        f"WHERE s.{sql_rows.column(through, 'coupontemplate')} = c.{sql_rows.column(Coupon, 'template')}"
    )
    sql = (
        f"SELECT {sql_rows.column_list(Coupon, 'c', OFFER_FIELDS[Coupon])}, "  # noqa: S608 - names from the models, values bound
        f"{sql_rows.column_list(CouponTemplate, 't', OFFER_FIELDS[CouponTemplate])}, "
        f"{sql_rows.column_list(OrgNode, 'n', OFFER_FIELDS[OrgNode])}, EXISTS ({links}), "
        f"EXISTS ({links} AND s.{sql_rows.column(through, 'orgnode')} = %s) "
        f"FROM {sql_rows.table(Coupon)} c "
        f"JOIN {sql_rows.table(CouponTemplate)} t ON t.id = c.{sql_rows.column(Coupon, 'template')} "
        f"JOIN {sql_rows.table(OrgNode)} n ON n.id = t.{sql_rows.column(CouponTemplate, 'node')} "
        f"WHERE c.{sql_rows.column(Coupon, 'code')} IN ({', '.join(['%s'] * len(codes))}) "
        f"AND c.{sql_rows.column(Coupon, 'merchant')} = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [store.pk, *codes, store.merchant_id])
        rows = cursor.fetchall()
    n = len(sql_rows.fields(Coupon, OFFER_FIELDS[Coupon]))
    m = n + len(sql_rows.fields(CouponTemplate, OFFER_FIELDS[CouponTemplate]))
    k = m + len(sql_rows.fields(OrgNode, OFFER_FIELDS[OrgNode]))
    found = []
    for row in rows:
        coupon = sql_rows.instance(Coupon, row[:n], OFFER_FIELDS[Coupon])
        template = sql_rows.instance(CouponTemplate, row[n:m], OFFER_FIELDS[CouponTemplate])
        template.node = sql_rows.instance(OrgNode, row[m:k], OFFER_FIELDS[OrgNode])
        coupon.template = template
        coupon.store_listed, coupon.listed_here = bool(row[k]), bool(row[k + 1])
        found.append(coupon)
    return found


def sort_codes(member, store, at, codes) -> tuple[list[CouponOffer], dict[str, str]]:
    """(offers for the usable codes, {code: error code} for the others), in the order presented; no writes."""
    at = at or timezone.now()
    normalized = list(dict.fromkeys(normalize_code(c) for c in codes if normalize_code(c)))
    well_formed = [c for c in normalized if is_well_formed(c)]
    found = {c.code: c for c in _presented(well_formed, store)}
    offers, refused = [], {}
    for code in normalized:
        if code not in well_formed:
            refused[code] = CouponCodeInvalid.code
        elif code not in found:
            refused[code] = CouponNotFound.code
        elif (error := refusal(found[code], member=member, store=store, at=at)) is not None:
            refused[code] = error.code
        else:
            offers.append(offer_of(found[code]))
    return offers, refused


def offers_for(member, store, at, codes) -> list[CouponOffer]:
    """The offers for the codes presented; the first unusable code is refused with its own error."""
    at = at or timezone.now()
    offers = []
    for text in dict.fromkeys(codes):
        coupon = _find(text, store)
        error = refusal(coupon, member=member, store=store, at=at)
        if error is not None:
            raise error
        offers.append(offer_of(coupon))
    return offers


def _find(text, store, *, lock=False) -> Coupon:
    code = validate_code(text)
    qs = Coupon.objects.select_related("template__node", "merchant")
    if lock:
        qs = qs.select_for_update(of=("self",))
    coupon = qs.filter(code=code, merchant_id=store.merchant_id).first()
    if coupon is None:
        raise CouponNotFound(extra={"coupon": code})
    return coupon


_REDEEM_FIELDS = ("status", "uses_left", "redeemed_at", "redeemed_store", "redemption_ref")


@transaction.atomic
def redeem(code, *, store, sale_ref, at=None, member=None, actor=None) -> Coupon:
    """Use a coupon for sale `sale_ref` at `store` (a count coupon: one use); a retry of the same sale is a no-op."""
    at = at or timezone.now()
    coupon = _find(code, store, lock=True)
    if (
        coupon.status == CouponStatus.REDEEMED
        and coupon.redemption_ref == sale_ref
        and coupon.template.kind != CouponKind.COUNT
    ):
        return coupon
    error = refusal(coupon, member=member, store=store, at=at)
    if error is not None:
        raise error
    before = audit.snapshot(coupon, _REDEEM_FIELDS)
    if coupon.template.kind == CouponKind.COUNT:
        coupon.uses_left -= 1
        if coupon.uses_left == 0:
            coupon.status = CouponStatus.REDEEMED
    else:
        coupon.status = CouponStatus.REDEEMED
    coupon.redeemed_at, coupon.redeemed_store, coupon.redemption_ref = at, store, sale_ref[:100]
    coupon.save(update_fields=list(_REDEEM_FIELDS))
    b, a = audit.diff(before, audit.snapshot(coupon, _REDEEM_FIELDS))
    audit.record(actor, "update", coupon, before=b, after=a, note=f"redeem {sale_ref}"[:300])
    return coupon


@transaction.atomic
def restore(code, sale_ref, *, at=None, actor=None, store=None) -> Coupon:
    """Give a coupon back after sale `sale_ref` is returned, as its template's policy says (see module rules)."""
    at = at or timezone.now()
    code = validate_code(code)
    coupon = (
        Coupon.objects.select_for_update(of=("self",))
        .select_related("template__node")
        .filter(code=code)
        .first()
    )
    if coupon is None or (store is not None and coupon.merchant_id != store.merchant_id):
        raise CouponNotFound(extra={"coupon": code})
    if not sale_ref or coupon.redemption_ref != sale_ref:
        raise CouponNotRedeemed()
    policy = coupon.template.restore_on_return
    still_valid = at < coupon.valid_until
    before = audit.snapshot(coupon, _REDEEM_FIELDS)
    if policy == RestorePolicy.NEVER or (policy == RestorePolicy.IF_VALID and not still_valid):
        audit.record(actor, "update", coupon, note=f"not restored ({policy}) {sale_ref}"[:300])
        return coupon
    if coupon.template.kind == CouponKind.COUNT:
        coupon.uses_left += 1
    coupon.status = CouponStatus.ISSUED if still_valid else CouponStatus.EXPIRED
    coupon.redeemed_at, coupon.redeemed_store, coupon.redemption_ref = None, None, ""
    coupon.save(update_fields=list(_REDEEM_FIELDS))
    b, a = audit.diff(before, audit.snapshot(coupon, _REDEEM_FIELDS))
    audit.record(actor, "update", coupon, before=b, after=a, note=f"restore {sale_ref}"[:300])
    return coupon
