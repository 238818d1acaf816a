"""Coupon services (P3): issuing (by hand, in bulk, by file, by rule), cancelling and expiry.

Templates are created and changed in `coupon_templates`; shared scoped reads live in `coupon_queries`;
presenting a coupon at a till, redeeming it and restoring it on a return are in `coupon_redemption`.
Every coupon write is in these modules, in one transaction per call, with an audit row. Rules:
- Validity: a fixed template is valid from the start of `valid_from` (or the issue) to the end of
  `valid_to`, local time (Asia/Shanghai); an N-day template is valid from the issue to the end of the
  Nth calendar day counting the issue day. `Coupon.valid_until` is exclusive.
- `per_member_limit` counts the member's coupons of the template in any state but void. By hand and in
  bulk a batch that would pass it is refused whole (`coupon_limit_reached`, nothing written); rules
  (joining, birthday, spend) skip the member instead, because a rule must never refuse a join or a sale.
- Rules issue at most once per event: a coupon carries `rule_key` ("join", "birthday:2026",
  "spend:<sale ref>") under a unique constraint, so the birthday job can run twice in a day.
- Redeeming locks the coupon row (`select_for_update`; on SQLite the transaction's write lock), so of two
  tills presenting one coupon exactly one wins. A count coupon (次数券) loses one use per redemption.
- Returns: `restore` follows the template's `restore_on_return` (never / always / only while valid).
- Nothing here moves money; the discount a coupon gives is priced by the engine from its `CouponOffer`.
"""

import datetime
from collections import Counter
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from onecard.core import audit
from onecard.core.errors import BusinessError, ValidationFailed
from onecard.core.scoping import require_node_in_scope, scope_node_ids
from onecard.members.importing import open_table, text_of
from onecard.members.models import Member

from .coupon_choices import CouponKind, CouponStatus, IssueHow, IssueRule
from .coupon_codes import new_code
from .coupon_errors import (
    CouponError,
    CouponExpired,
    CouponLimitReached,
    CouponMemberOutOfReach,
    CouponNotFound,
    CouponTemplateEnded,
    CouponTemplateInactive,
    CouponUsed,
    CouponVoid,
)
from .coupon_queries import ancestor_ids, visible_coupons
from .models import Coupon, CouponIssue, CouponTemplate

CODE_RETRIES = 5
# SQLite allows 999 parameters per statement.
LOOKUP_CHUNK = 900


# ---- issuing -----------------------------------------------------------------------------------------------


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def window_for(template, issued_at) -> tuple[datetime.datetime, datetime.datetime]:
    """(valid_from, valid_until exclusive) of a coupon of `template` issued at `issued_at` (see module rules)."""
    if template.valid_days:
        return issued_at, _day_start(
            timezone.localdate(issued_at) + datetime.timedelta(days=template.valid_days)
        )
    start = _day_start(template.valid_from) if template.valid_from else issued_at
    return start, _day_start(template.valid_to + datetime.timedelta(days=1))


def _check_issuable(template, at):
    if not template.active:
        raise CouponTemplateInactive()
    if template.valid_to is not None and template.valid_to < timezone.localdate(at):
        raise CouponTemplateEnded()


def _in_reach(template, member) -> bool:
    return member.merchant_id == template.merchant_id and member.home_store.path.startswith(
        template.node.path
    )


def _held(template, member_ids) -> Counter:
    held = Counter()
    member_ids = list(set(member_ids))
    for i in range(0, len(member_ids), LOOKUP_CHUNK):
        rows = (
            Coupon.objects.filter(template=template, member_id__in=member_ids[i : i + LOOKUP_CHUNK])
            .exclude(status=CouponStatus.VOID)
            .values_list("member_id", flat=True)
        )
        held.update(rows)
    return held


def _over_limit(template, member_ids) -> list[int]:
    """Ids of members who would hold more than the template allows if each got one coupon per listing."""
    if template.per_member_limit is None:
        return []
    wanted = Counter(member_ids)
    held = _held(template, wanted)
    return sorted(pk for pk, n in wanted.items() if held[pk] + n > template.per_member_limit)


def _create_coupons(template, members, *, issue, actor, at, rule_key=""):
    valid_from, valid_until = window_for(template, at)
    uses = template.value if template.kind == CouponKind.COUNT else None
    for attempt in range(CODE_RETRIES):
        rows = [
            Coupon(
                template=template,
                merchant_id=template.merchant_id,
                member=member,
                code=new_code(),
                issued_at=at,
                valid_from=valid_from,
                valid_until=valid_until,
                issued_by=actor if actor is not None and actor.pk else None,
                issue=issue,
                rule_key=rule_key,
                uses_left=uses,
            )
            for member in members
        ]
        try:
            # A savepoint, so a code collision leaves the batch's transaction usable for the retry.
            with transaction.atomic():
                return Coupon.objects.bulk_create(rows)
        except IntegrityError:
            if attempt == CODE_RETRIES - 1:
                raise
    return []


def _write_batch(actor, template, members, *, how, at, note="", rule_key=""):
    issue = CouponIssue.objects.create(
        template=template,
        merchant_id=template.merchant_id,
        how=how,
        count=len(members),
        note=note[:200],
        actor=actor if actor is not None and actor.pk else None,
        created_at=at,
    )
    coupons = _create_coupons(template, members, issue=issue, actor=actor, at=at, rule_key=rule_key)
    after = {"template": template.pk, "how": how, "count": len(members), "note": note[:100]}
    if len(members) <= 20:
        after["members"] = [m.pk if m is not None else None for m in members]
        after["codes"] = [c.code for c in coupons]
    audit.record(actor, "create", issue, after=after, merchant=template.merchant)
    return issue, coupons


def _check_staff_reach(actor, template, members):
    if actor is None:
        return
    ids = scope_node_ids(actor)
    if ids is not None and template.node_id not in ids and template.node_id not in ancestor_ids(actor.node):
        require_node_in_scope(actor, template.node)
    if ids is not None and any(m is not None and m.home_store_id not in ids for m in members):
        raise CouponMemberOutOfReach(_("A member on the list belongs to a store outside your scope."))


def check_bulk(actor, template, members, *, at=None) -> dict:
    """The dry run of `issue_bulk`: {"refusal": message or "", "over_limit": [...], "out_of_reach": [...]}."""
    at = at or timezone.now()
    refusal_text = ""
    try:
        _check_issuable(template, at)
    except CouponError as exc:
        refusal_text = str(exc.message)
    ids = scope_node_ids(actor) if actor is not None else None
    out_of_reach = [
        m for m in members if not _in_reach(template, m) or (ids is not None and m.home_store_id not in ids)
    ]
    over = set(_over_limit(template, [m.pk for m in members]))
    return {
        "refusal": refusal_text,
        "out_of_reach": list({m.pk: m for m in out_of_reach}.values()),
        "over_limit": list({m.pk: m for m in members if m.pk in over}.values()),
    }


@transaction.atomic
def issue_bulk(actor, template, members, *, how=IssueHow.BULK, note="", at=None) -> CouponIssue:
    """Issue one coupon to each listed member (a member listed twice gets two); all or nothing."""
    at = at or timezone.now()
    template = CouponTemplate.objects.select_related("node", "merchant").get(pk=template.pk)
    members = list(members)
    if not members:
        raise ValidationFailed({"members": [_("The list has no members.")]})
    _check_issuable(template, at)
    _check_staff_reach(actor, template, members)
    if any(not _in_reach(template, m) for m in members):
        raise CouponMemberOutOfReach()
    over = _over_limit(template, [m.pk for m in members])
    if over:
        raise CouponLimitReached(extra={"members": over[:100]})
    issue, _coupons = _write_batch(actor, template, members, how=how, at=at, note=note)
    return issue


def issue_by_hand(actor, template, member, *, at=None) -> Coupon:
    """Issue one coupon of `template` to `member` (refused with coupon_limit_reached at the limit)."""
    issue = issue_bulk(actor, template, [member], how=IssueHow.HAND, at=at)
    return issue.coupons.get()


MAX_BEARER = 100_000


@transaction.atomic
def issue_bearer(actor, template, count, *, note="", at=None) -> CouponIssue:
    """Issue `count` bearer coupons (no member: printed vouchers anyone may present)."""
    at = at or timezone.now()
    template = CouponTemplate.objects.select_related("node", "merchant").get(pk=template.pk)
    if not 0 < count <= MAX_BEARER:
        raise ValidationFailed({"count": [_("Enter a number from 1 to %(n)s.") % {"n": MAX_BEARER}]})
    _check_issuable(template, at)
    _check_staff_reach(actor, template, [])
    issue, _coupons = _write_batch(actor, template, [None] * count, how=IssueHow.BULK, at=at, note=note)
    return issue


@dataclass
class SegmentFile:
    """A segment file read against the members: who it names, and the rows that name nobody."""

    members: list = field(default_factory=list)
    unknown: list = field(default_factory=list)  # (row number, value)
    rows: int = 0


MAX_SEGMENT_ROWS = 50_000
MAX_SEGMENT_BYTES = 5 * 1024 * 1024
_ID_HEADERS = ("phone", "mobile", "手机", "电话", "member", "会员")


def read_segment_file(merchant, fileobj, filename) -> SegmentFile:
    """Read the phones or member numbers of a .xlsx/.csv file (the column headed phone/手机/会员号, else the first)."""
    if getattr(fileobj, "size", 0) > MAX_SEGMENT_BYTES:
        raise BusinessError(
            _("The file is larger than 5 MB; split it into smaller files."), code="coupon_file_too_large"
        )
    with open_table(fileobj, filename) as (headers, rows):
        column = next((i for i, h in enumerate(headers) if any(word in h.lower() for word in _ID_HEADERS)), 0)
        values = [(number, text_of(cells[column])) for number, cells in rows if text_of(cells[column])]
    if len(values) > MAX_SEGMENT_ROWS:
        raise BusinessError(
            _("The file names more than %(n)s members; split it into smaller files.")
            % {"n": MAX_SEGMENT_ROWS},
            code="coupon_file_too_long",
        )
    found = {}
    texts = sorted({v for _n, v in values})
    for i in range(0, len(texts), LOOKUP_CHUNK):
        chunk = texts[i : i + LOOKUP_CHUNK]
        for m in Member.objects.select_related("home_store").filter(
            Q(phone__in=chunk) | Q(member_no__in=chunk), merchant=merchant, status="active"
        ):
            found.setdefault(m.phone, m)
            found.setdefault(m.member_no, m)
    result = SegmentFile(rows=len(values))
    for number, value in values:
        member = found.get(value)
        if member is None:
            result.unknown.append((number, value))
        else:
            result.members.append(member)
    return result


def _rule_templates(merchant_id, rule, at):
    templates = CouponTemplate.objects.select_related("node", "merchant").filter(
        merchant_id=merchant_id, issue_rule=rule, active=True
    )
    today = timezone.localdate(at)
    return [t for t in templates if t.valid_to is None or t.valid_to >= today]


def _issue_by_rule(template, members, *, how, rule_key, at):
    """Issue to the members in reach who have no coupon for this event and are under the limit."""
    members = [m for m in members if _in_reach(template, m)]
    done = set(
        Coupon.objects.filter(template=template, rule_key=rule_key, member__in=members).values_list(
            "member_id", flat=True
        )
    )
    members = [m for m in members if m.pk not in done]
    over = set(_over_limit(template, [m.pk for m in members]))
    members = [m for m in members if m.pk not in over]
    if not members:
        return []
    _issue, coupons = _write_batch(None, template, members, how=how, at=at, rule_key=rule_key)
    return coupons


@transaction.atomic
def issue_on_join(member, *, at=None) -> list[Coupon]:
    """Issue the joining coupons of the member's merchant (templates with the "on joining" rule)."""
    at = at or timezone.now()
    member = Member.objects.select_related("home_store").get(pk=member.pk)
    coupons = []
    for template in _rule_templates(member.merchant_id, IssueRule.JOIN, at):
        coupons += _issue_by_rule(template, [member], how=IssueHow.JOIN, rule_key="join", at=at)
    return coupons


def issue_joining_coupons(sender, *, member, **kwargs):
    """Signal receiver (members.signals.member_joined): a new member gets the joining coupons."""
    issue_on_join(member)


def _birthday_members(today):
    q = Q(birthday__month=today.month, birthday__day=today.day)
    leap = today.year % 4 == 0 and (today.year % 100 != 0 or today.year % 400 == 0)
    if today.month == 2 and today.day == 28 and not leap:
        q |= Q(birthday__month=2, birthday__day=29)  # 29 February birthdays are kept on the 28th
    return Member.objects.select_related("home_store").filter(q, status="active")


@transaction.atomic
def issue_on_birthday(today=None, *, at=None) -> int:
    """The daily job: birthday coupons for members born today; once per member and template per year."""
    at = at or timezone.now()
    today = today or timezone.localdate(at)
    by_merchant = {}
    for member in _birthday_members(today):
        by_merchant.setdefault(member.merchant_id, []).append(member)
    issued = 0
    for merchant_id, members in by_merchant.items():
        for template in _rule_templates(merchant_id, IssueRule.BIRTHDAY, at):
            issued += len(
                _issue_by_rule(
                    template, members, how=IssueHow.BIRTHDAY, rule_key=f"birthday:{today.year}", at=at
                )
            )
    return issued


def issue_after_spend(member, amount, sale_ref, *, at=None) -> list[Coupon]:
    """Coupons earned by a sale of `amount` fen (templates whose spend threshold it reaches); once per sale."""
    at = at or timezone.now()
    reached = [
        template
        for template in _rule_templates(member.merchant_id, IssueRule.SPEND, at)
        if amount > 0 and amount >= (template.spend_threshold or 0)
    ]
    if not reached:  # most sales: no savepoint, no second read of the member
        return []
    coupons = []
    with transaction.atomic():
        member = Member.objects.select_related("home_store").get(pk=member.pk)
        for template in reached:
            key = f"spend:{sale_ref}"[:120]
            coupons += _issue_by_rule(template, [member], how=IssueHow.SPEND, rule_key=key, at=at)
    return coupons


# ---- cancelling, expiry, merges ------------------------------------------------------------------------


@transaction.atomic
def void_coupon(actor, coupon, *, reason) -> Coupon:
    """Cancel an unused coupon (issued by mistake, reported stolen); it no longer counts against the limit."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed({"reason": [_("Say why the coupon is cancelled.")]})
    coupon = Coupon.objects.select_for_update(of=("self",)).select_related("template__node").get(pk=coupon.pk)
    if actor is not None and not visible_coupons(actor).filter(pk=coupon.pk).exists():
        raise CouponNotFound()
    if coupon.status == CouponStatus.REDEEMED or coupon.redemption_ref:
        raise CouponUsed()  # a count coupon used once is in a sale: a return, not a void, undoes that
    if coupon.status == CouponStatus.VOID:
        raise CouponVoid()
    if coupon.status == CouponStatus.EXPIRED:
        raise CouponExpired()
    coupon.status = CouponStatus.VOID
    coupon.save(update_fields=["status"])
    audit.record(actor, "update", coupon, before={"status": "issued"}, after={"status": "void"}, note=reason)
    return coupon


@transaction.atomic
def expire_coupons(now=None) -> int:
    """The daily job: issued coupons past their window become expired; a second run changes nothing."""
    now = now or timezone.now()
    count = Coupon.objects.filter(status=CouponStatus.ISSUED, valid_until__lte=now).update(
        status=CouponStatus.EXPIRED
    )
    if count:
        audit.record(
            None,
            "update",
            subject_type="promotions.coupon",
            note=f"expired {count} coupons",
            after={"count": count},
        )
    return count


def move_coupons_of_merged_member(sender, survivor, merged, actor=None, **kwargs):
    """members.signals.member_merged: the merged member's coupons go to the survivor (inside the merge)."""
    moving = Coupon.objects.filter(member=merged)
    codes = sorted(moving.values_list("code", flat=True))
    if not codes:
        return
    taken = set(
        Coupon.objects.filter(member=survivor).exclude(rule_key="").values_list("template_id", "rule_key")
    )
    # Both members got e.g. the joining coupon: the survivor keeps both, under distinct rule keys.
    for coupon in moving.exclude(rule_key=""):
        if (coupon.template_id, coupon.rule_key) in taken:
            Coupon.objects.filter(pk=coupon.pk).update(rule_key=f"{coupon.rule_key}:m{merged.pk}"[:120])
    moving.update(member=survivor)
    audit.record(
        actor,
        "transfer",
        survivor,
        after={"coupons": codes},
        note=f"coupons of merged member {merged.member_no} moved to {survivor.member_no}",
    )
