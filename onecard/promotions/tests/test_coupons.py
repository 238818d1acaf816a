"""Coupon services: templates, every way of issuing with its limits, presenting, redeeming, returns, expiry."""

import datetime
import io
import threading

import pytest
from django.utils import timezone

from onecard.core.errors import BusinessError, ValidationFailed
from onecard.core.models import AuditEntry
from onecard.promotions import coupon_redemption, coupon_templates, coupons
from onecard.promotions.cart import CouponOffer
from onecard.promotions.coupon_choices import CouponKind, CouponStatus, IssueHow, IssueRule, RestorePolicy
from onecard.promotions.coupon_codes import check_character
from onecard.promotions.coupon_errors import CouponUsed
from onecard.promotions.models import Coupon, CouponIssue, CouponTemplate
from onecard.testing.concurrency import run_clients
from onecard.testing.coupons import aware, make_template

pytestmark = pytest.mark.django_db


def counts():
    return (Coupon.objects.count(), CouponIssue.objects.count(), AuditEntry.objects.count())


# ---- templates ---------------------------------------------------------------------------------------------


def test_a_template_is_created_with_an_audit_row(chain):
    template = make_template(chain, actor=chain.hq_admin, name="满100减20", stores=[chain.a1])
    assert template.node == chain.hq and template.kind == "cash" and template.value == 2000
    assert list(template.stores.all()) == [chain.a1]
    row = AuditEntry.objects.get(subject_type="promotions.coupontemplate", subject_id=str(template.pk))
    assert row.action == "create" and row.after["stores"] == [chain.a1.pk]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kind": "discount", "value": 1000}, "value"),
        ({"kind": "cash", "value": 0}, "value"),
        ({"kind": "gift", "value": 0}, "gift_product_id"),
        ({"kind": "count", "value": 0}, "value"),
        ({"valid_days": None}, "valid_days"),
        ({"valid_to": datetime.date(2026, 12, 31)}, "valid_days"),
        ({"product_ids": ["x"]}, "product_ids"),
        ({"per_member_limit": 0}, "per_member_limit"),
    ],
)
def test_a_bad_template_is_refused_and_nothing_is_written(chain, fields, field):
    before = CouponTemplate.objects.count()
    with pytest.raises(ValidationFailed) as info:
        make_template(chain, **fields)
    assert field in info.value.errors
    assert CouponTemplate.objects.count() == before


def test_a_store_outside_the_owner_region_is_refused(chain):
    with pytest.raises(ValidationFailed) as info:
        make_template(chain, node=chain.east, stores=[chain.b1])
    assert "stores" in info.value.errors


def test_a_region_manager_cannot_create_a_template_for_head_office(chain):
    with pytest.raises(Exception) as info:
        make_template(chain, actor=chain.region_manager, node=chain.hq)
    assert info.value.code == "permission_denied"
    assert not CouponTemplate.objects.exists()


def test_editing_a_template_keeps_the_window_of_coupons_already_issued(chain, member):
    template = make_template(chain, valid_days=7)
    coupon = coupons.issue_by_hand(None, template, member)
    template = coupon_templates.update_template(chain.hq_admin, template, valid_days=30, name="改名")
    coupon.refresh_from_db()
    assert template.name == "改名" and template.valid_days == 30
    assert (coupon.valid_until - coupon.valid_from).days <= 7


# ---- issuing -----------------------------------------------------------------------------------------------


def test_issue_by_hand_gives_the_member_a_coupon_valid_to_the_end_of_the_nth_day(chain, member):
    # given: a 7-day template; when a coupon is issued on 25 Nov at noon (Shanghai)
    template = make_template(chain, valid_days=7)
    coupon = coupons.issue_by_hand(chain.store_manager, template, member, at=aware(2026, 11, 25))
    # then: it is the member's, issued, valid through 1 December included
    assert coupon.member == member and coupon.status == CouponStatus.ISSUED
    assert coupon.valid_from == aware(2026, 11, 25)
    assert coupon.valid_until == aware(2026, 12, 2, 0)
    assert coupon.issued_by == chain.store_manager and coupon.uses_left is None
    issue = coupon.issue
    assert issue.how == IssueHow.HAND and issue.count == 1 and issue.actor == chain.store_manager
    row = AuditEntry.objects.get(subject_type="promotions.couponissue", subject_id=str(issue.pk))
    assert row.after["codes"] == [coupon.code] and row.actor == chain.store_manager


def test_a_fixed_dates_template_gives_its_dates_and_stops_issuing_after_them(chain, member):
    template = make_template(
        chain, valid_days=None, valid_from=datetime.date(2026, 12, 1), valid_to=datetime.date(2026, 12, 31)
    )
    coupon = coupons.issue_by_hand(None, template, member, at=aware(2026, 11, 25))
    assert coupon.valid_from == aware(2026, 12, 1, 0) and coupon.valid_until == aware(2027, 1, 1, 0)
    before = counts()
    with pytest.raises(Exception) as info:
        coupons.issue_by_hand(None, template, member, at=aware(2027, 1, 1))
    assert info.value.code == "coupon_template_ended" and counts() == before


def test_a_count_coupon_starts_with_its_uses(chain, member):
    template = make_template(chain, kind=CouponKind.COUNT, value=3, min_spend=0)
    assert coupons.issue_by_hand(None, template, member).uses_left == 3


def test_the_per_member_limit_refuses_by_hand_and_writes_nothing(chain, member):
    # given: at most 1 per member, and the member has one
    template = make_template(chain, per_member_limit=1)
    coupons.issue_by_hand(None, template, member)
    before = counts()
    # when another is issued by hand
    with pytest.raises(Exception) as info:
        coupons.issue_by_hand(None, template, member)
    # then: refused, nothing written
    assert info.value.code == "coupon_limit_reached"
    assert counts() == before


def test_a_void_coupon_does_not_count_against_the_limit(chain, member):
    template = make_template(chain, per_member_limit=1)
    first = coupons.issue_by_hand(None, template, member)
    Coupon.objects.filter(pk=first.pk).update(status=CouponStatus.VOID)
    assert coupons.issue_by_hand(None, template, member).status == CouponStatus.ISSUED


def test_bulk_issue_gives_each_listed_member_one_coupon_in_one_batch(chain, member_factory):
    members = [member_factory() for _ in range(3)]
    template = make_template(chain, per_member_limit=2)
    issue = coupons.issue_bulk(chain.hq_admin, template, members, note="VIP list")
    assert issue.count == 3 and issue.how == IssueHow.BULK
    assert sorted(issue.coupons.values_list("member_id", flat=True)) == sorted(m.pk for m in members)
    assert len(set(issue.coupons.values_list("code", flat=True))) == 3
    assert AuditEntry.objects.filter(subject_type="promotions.couponissue").count() == 1


def test_a_bulk_list_that_passes_the_limit_for_one_member_is_refused_whole(chain, member_factory):
    first, second = member_factory(), member_factory()
    template = make_template(chain, per_member_limit=1)
    before = counts()
    with pytest.raises(Exception) as info:
        coupons.issue_bulk(None, template, [first, second, first])
    assert info.value.code == "coupon_limit_reached" and info.value.extra["members"] == [first.pk]
    assert counts() == before


def test_a_region_template_is_not_issued_to_a_member_of_another_region(chain, member_factory):
    template = make_template(chain, node=chain.east)
    northerner = member_factory(store=chain.b1)
    before = counts()
    with pytest.raises(Exception) as info:
        coupons.issue_by_hand(None, template, northerner)
    assert info.value.code == "coupon_member_out_of_reach" and counts() == before


def test_staff_cannot_issue_to_a_member_outside_their_scope(chain, member_factory):
    template = make_template(chain)
    with pytest.raises(Exception) as info:
        coupons.issue_by_hand(chain.region_manager, template, member_factory(store=chain.b1))
    assert info.value.code == "coupon_member_out_of_reach"
    assert not Coupon.objects.exists()


def test_an_inactive_template_issues_nothing(chain, member):
    template = make_template(chain, active=False)
    with pytest.raises(Exception) as info:
        coupons.issue_by_hand(None, template, member)
    assert info.value.code == "coupon_template_inactive" and not Coupon.objects.exists()


def test_a_segment_file_names_members_by_phone_or_number_and_reports_unknown_rows(chain, member_factory):
    # given: a CSV with a phone, a member number, an unknown phone and a member of another merchant
    known = member_factory(phone="13911112222")
    by_number = member_factory()
    stranger = member_factory(store=chain.other_store, phone="13933334444")
    text = f"手机号,备注\n13911112222,a\n{by_number.member_no},b\n13800009999,c\n{stranger.phone},d\n"
    # when it is read
    report = coupons.read_segment_file(chain.merchant, io.BytesIO(text.encode()), "list.csv")
    # then: two members found, two unknown rows with their row numbers
    assert [m.pk for m in report.members] == [known.pk, by_number.pk]
    assert report.unknown == [(4, "13800009999"), (5, "13933334444")]
    assert report.rows == 4
    issue = coupons.issue_bulk(None, make_template(chain), report.members, how=IssueHow.FILE, note="list.csv")
    assert issue.count == 2 and issue.how == IssueHow.FILE


def test_a_segment_file_in_xlsx(chain, member_factory):
    import openpyxl

    known = member_factory(phone="13911113333")
    workbook = openpyxl.Workbook()
    workbook.active.append(["phone"])
    workbook.active.append([13911113333])
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    report = coupons.read_segment_file(chain.merchant, buffer, "list.xlsx")
    assert [m.pk for m in report.members] == [known.pk] and report.unknown == []


# ---- rules ----------------------------------------------------------------------------------------------


def test_joining_issues_the_joining_coupons_once(chain, member):
    template = make_template(chain, issue_rule=IssueRule.JOIN)
    make_template(chain, issue_rule=IssueRule.BIRTHDAY)
    first = coupons.issue_on_join(member)
    assert [c.template_id for c in first] == [template.pk]
    assert first[0].issue.how == IssueHow.JOIN and first[0].rule_key == "join"
    assert coupons.issue_on_join(member) == []
    assert Coupon.objects.count() == 1


def test_registering_a_member_issues_the_joining_coupons(chain, member_factory):
    # given a joining template of the chain
    template = make_template(chain, issue_rule=IssueRule.JOIN)
    # when a member registers (members.services.create_member)
    newcomer = member_factory(name="王五", phone="13900002222")
    # then the member holds one joining coupon; a refused registration issues none
    assert list(Coupon.objects.filter(member=newcomer).values_list("template_id", "rule_key")) == [
        (template.pk, "join")
    ]
    with pytest.raises(BusinessError):
        member_factory(name="重复", phone="13900002222")
    assert Coupon.objects.count() == 1


def test_a_rule_skips_a_member_at_the_limit(chain, member):
    template = make_template(chain, issue_rule=IssueRule.JOIN, per_member_limit=1)
    coupons.issue_by_hand(None, template, member)
    assert coupons.issue_on_join(member) == []
    assert Coupon.objects.count() == 1


def test_the_birthday_job_issues_once_per_member_per_year(chain, member_factory):
    # given: a birthday template, one member born on 25 Nov and one on 26 Nov
    template = make_template(chain, issue_rule=IssueRule.BIRTHDAY)
    born_today = member_factory(birthday=datetime.date(1990, 11, 25))
    member_factory(birthday=datetime.date(1990, 11, 26))
    today = datetime.date(2026, 11, 25)
    # when the job runs twice that day
    assert coupons.issue_on_birthday(today, at=aware(2026, 11, 25, 1)) == 1
    assert coupons.issue_on_birthday(today, at=aware(2026, 11, 25, 9)) == 0
    # then: one coupon for the member born today; next year another
    coupon = Coupon.objects.get()
    assert coupon.member == born_today and coupon.template == template and coupon.rule_key == "birthday:2026"
    assert coupons.issue_on_birthday(datetime.date(2027, 11, 25), at=aware(2027, 11, 25, 1)) == 1


def test_a_29_february_birthday_is_kept_on_28_february_in_other_years(chain, member_factory):
    make_template(chain, issue_rule=IssueRule.BIRTHDAY)
    leapling = member_factory(birthday=datetime.date(2000, 2, 29))
    assert coupons.issue_on_birthday(datetime.date(2027, 2, 28), at=aware(2027, 2, 28)) == 1
    assert Coupon.objects.get().member == leapling


def test_a_spend_issues_its_coupon_once_per_sale_above_the_threshold(chain, member):
    make_template(chain, issue_rule=IssueRule.SPEND, spend_threshold=50_000)
    assert coupons.issue_after_spend(member, 49_999, "sale:1") == []
    earned = coupons.issue_after_spend(member, 50_000, "sale:2")
    assert len(earned) == 1 and earned[0].rule_key == "spend:sale:2"
    assert coupons.issue_after_spend(member, 50_000, "sale:2") == []
    assert len(coupons.issue_after_spend(member, 80_000, "sale:3")) == 1


# ---- presenting ---------------------------------------------------------------------------------------------


def test_offers_for_a_good_code_describe_the_coupon_for_the_engine(chain, member):
    template = make_template(
        chain,
        kind=CouponKind.DISCOUNT,
        value=850,
        cap=5000,
        min_spend=0,
        product_ids=[7, 3],
        stacks_with_promotions=False,
    )
    coupon = coupons.issue_by_hand(None, template, member)
    offers = coupon_redemption.offers_for(member, chain.a1, None, [coupon.code.lower()])
    assert offers == [
        CouponOffer(
            code=coupon.code,
            template_id=template.pk,
            kind="discount",
            value=850,
            min_spend=0,
            cap=5000,
            product_ids=(3, 7),
            stacks_with_promotions=False,
        )
    ]


@pytest.fixture
def refusals(chain, member_factory):
    """A coupon per refusal: used, expired, not valid at A1, someone else's, void, not yet valid."""
    owner = member_factory(name="王五")
    other = member_factory(name="赵六")
    template = make_template(chain)
    b1_only = make_template(chain, stores=[chain.b1])
    later = make_template(
        chain, valid_days=None, valid_from=datetime.date(2099, 1, 1), valid_to=datetime.date(2099, 12, 31)
    )
    used = coupons.issue_by_hand(None, template, owner)
    coupon_redemption.redeem(used.code, store=chain.a1, sale_ref="sale:0", member=owner)
    expired = coupons.issue_by_hand(None, template, owner, at=timezone.now() - datetime.timedelta(days=60))
    void = coupons.issue_by_hand(None, template, owner)
    Coupon.objects.filter(pk=void.pk).update(status=CouponStatus.VOID)
    return {
        "owner": owner,
        "coupon_used": used.code,
        "coupon_expired": expired.code,
        "coupon_not_valid_here": coupons.issue_by_hand(None, b1_only, owner).code,
        "coupon_not_yours": coupons.issue_by_hand(None, template, other).code,
        "coupon_void": void.code,
        "coupon_not_yet_valid": coupons.issue_by_hand(None, later, owner).code,
        "coupon_not_found": "23456789ABCDEFG" + check_character("23456789ABCDEFG"),
        "coupon_code_invalid": "23456789ABCDEFGH",
    }


CODES = [
    "coupon_used",
    "coupon_expired",
    "coupon_not_valid_here",
    "coupon_not_yours",
    "coupon_void",
    "coupon_not_yet_valid",
    "coupon_not_found",
    "coupon_code_invalid",
]


@pytest.mark.parametrize("error", CODES)
def test_each_unusable_coupon_is_refused_with_its_own_code_and_nothing_is_written(chain, refusals, error):
    code = refusals[error]
    before = counts()
    statuses = dict(Coupon.objects.values_list("pk", "status"))
    with pytest.raises(Exception) as info:
        coupon_redemption.offers_for(refusals["owner"], chain.a1, None, [code])
    assert info.value.code == error
    with pytest.raises(Exception) as info:
        coupon_redemption.redeem(code, store=chain.a1, sale_ref="sale:9", member=refusals["owner"])
    assert info.value.code == error
    assert counts() == before and dict(Coupon.objects.values_list("pk", "status")) == statuses


def test_sort_codes_answers_every_code_in_one_pass(
    chain, refusals, member_factory, django_assert_max_num_queries
):
    good = coupons.issue_by_hand(None, make_template(chain), refusals["owner"])
    codes = [refusals[e] for e in CODES] + [good.code]
    with django_assert_max_num_queries(3):
        offers, refused = coupon_redemption.sort_codes(refusals["owner"], chain.a1, None, codes)
    assert [o.code for o in offers] == [good.code]
    assert {refused[refusals[e]] for e in CODES} == set(CODES)


def test_a_bearer_coupon_is_anyone_s(chain):
    template = make_template(chain)
    issue = coupons.issue_bearer(chain.hq_admin, template, 3, note="printed")
    assert issue.count == 3 and issue.coupons.filter(member__isnull=True).count() == 3
    coupon = issue.coupons.first()
    assert coupon_redemption.offers_for(None, chain.a1, None, [coupon.code])[0].code == coupon.code


# ---- redeeming ----------------------------------------------------------------------------------------------


def test_a_coupon_is_redeemed_once(chain, member):
    coupon = coupons.issue_by_hand(None, make_template(chain), member)
    done = coupon_redemption.redeem(
        coupon.code, store=chain.a1, sale_ref="sale:1", member=member, actor=chain.cashier_a1
    )
    assert done.status == CouponStatus.REDEEMED and done.redeemed_store == chain.a1
    assert done.redemption_ref == "sale:1" and done.redeemed_at is not None
    row = AuditEntry.objects.filter(subject_type="promotions.coupon", subject_id=str(coupon.pk)).get()
    assert row.after["status"] == "redeemed" and row.actor == chain.cashier_a1
    # a retry of the same sale changes nothing; another sale is refused
    assert (
        coupon_redemption.redeem(coupon.code, store=chain.a1, sale_ref="sale:1", member=member).pk
        == coupon.pk
    )
    with pytest.raises(CouponUsed):
        coupon_redemption.redeem(coupon.code, store=chain.a2, sale_ref="sale:2", member=member)
    assert AuditEntry.objects.filter(subject_type="promotions.coupon").count() == 1


def test_a_count_coupon_is_used_up_one_use_at_a_time(chain, member):
    coupon = coupons.issue_by_hand(
        None, make_template(chain, kind=CouponKind.COUNT, value=2, min_spend=0), member
    )
    first = coupon_redemption.redeem(coupon.code, store=chain.a1, sale_ref="s1", member=member)
    assert first.uses_left == 1 and first.status == CouponStatus.ISSUED
    assert coupon_redemption.offers_for(member, chain.a1, None, [coupon.code])[0].value == 1
    second = coupon_redemption.redeem(coupon.code, store=chain.a1, sale_ref="s2", member=member)
    assert second.uses_left == 0 and second.status == CouponStatus.REDEEMED
    with pytest.raises(CouponUsed):
        coupon_redemption.redeem(coupon.code, store=chain.a1, sale_ref="s3", member=member)


# ---- returns ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "days_later", "status"),
    [
        (RestorePolicy.NEVER, 0, CouponStatus.REDEEMED),
        (RestorePolicy.ALWAYS, 0, CouponStatus.ISSUED),
        (RestorePolicy.ALWAYS, 40, CouponStatus.EXPIRED),
        (RestorePolicy.IF_VALID, 0, CouponStatus.ISSUED),
        (RestorePolicy.IF_VALID, 40, CouponStatus.REDEEMED),
    ],
)
def test_a_return_restores_the_coupon_as_its_policy_says(chain, member, policy, days_later, status):
    coupon = coupons.issue_by_hand(None, make_template(chain, restore_on_return=policy), member)
    coupon_redemption.redeem(coupon.code, store=chain.a1, sale_ref="sale:1", member=member)
    later = timezone.now() + datetime.timedelta(days=days_later)
    restored = coupon_redemption.restore(coupon.code, "sale:1", at=later)
    assert restored.status == status
    if status != CouponStatus.REDEEMED:
        assert restored.redemption_ref == "" and restored.redeemed_store is None
    assert AuditEntry.objects.filter(subject_type="promotions.coupon", note__contains="sale:1").count() == 2


def test_a_restored_coupon_can_be_used_again_but_not_restored_twice(chain, member):
    coupon = coupons.issue_by_hand(None, make_template(chain, restore_on_return=RestorePolicy.ALWAYS), member)
    coupon_redemption.redeem(coupon.code, store=chain.a1, sale_ref="sale:1", member=member)
    coupon_redemption.restore(coupon.code, "sale:1")
    with pytest.raises(Exception) as info:
        coupon_redemption.restore(coupon.code, "sale:1")
    assert info.value.code == "coupon_not_redeemed"
    assert (
        coupon_redemption.redeem(coupon.code, store=chain.a1, sale_ref="sale:2", member=member).status
        == "redeemed"
    )


def test_restoring_a_count_coupon_gives_the_use_back(chain, member):
    template = make_template(chain, kind=CouponKind.COUNT, value=2, min_spend=0, restore_on_return="always")
    coupon = coupons.issue_by_hand(None, template, member)
    coupon_redemption.redeem(coupon.code, store=chain.a1, sale_ref="s1", member=member)
    assert coupon_redemption.restore(coupon.code, "s1").uses_left == 2


def test_a_return_of_another_sale_is_refused(chain, member):
    coupon = coupons.issue_by_hand(None, make_template(chain), member)
    coupon_redemption.redeem(coupon.code, store=chain.a1, sale_ref="sale:1", member=member)
    with pytest.raises(Exception) as info:
        coupon_redemption.restore(coupon.code, "sale:2")
    assert info.value.code == "coupon_not_redeemed"
    coupon.refresh_from_db()
    assert coupon.status == CouponStatus.REDEEMED


# ---- expiry -------------------------------------------------------------------------------------------------


def test_the_expiry_job_expires_once_and_a_second_run_changes_nothing(chain, member):
    template = make_template(chain, valid_days=1)
    old = coupons.issue_by_hand(None, template, member, at=aware(2026, 11, 1))
    fresh = coupons.issue_by_hand(None, template, member, at=aware(2026, 11, 25))
    used = coupons.issue_by_hand(None, template, member, at=aware(2026, 11, 1))
    coupon_redemption.redeem(
        used.code, store=chain.a1, sale_ref="s", member=member, at=aware(2026, 11, 1, 13)
    )
    now = aware(2026, 11, 25, 13)
    assert coupons.expire_coupons(now) == 1
    audit_rows = AuditEntry.objects.count()
    assert coupons.expire_coupons(now) == 0
    assert AuditEntry.objects.count() == audit_rows
    statuses = dict(Coupon.objects.values_list("pk", "status"))
    assert statuses == {old.pk: "expired", fresh.pk: "issued", used.pk: "redeemed"}


# ---- two tills, one coupon (PostgreSQL) ----------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_coupon_at_two_tills_at_once_is_redeemed_exactly_once(chain, member):
    # given: five coupons; for each, two tills (A1 and A2) redeem it for different sales at the same moment
    template = make_template(chain)
    for _round in range(5):
        coupon = coupons.issue_by_hand(None, template, member)
        won, refused = [], []
        start = threading.Barrier(2)

        def till(n, coupon=coupon, won=won, refused=refused, start=start):
            store = chain.a1 if n == 0 else chain.a2
            start.wait()
            try:
                coupon_redemption.redeem(
                    coupon.code, store=store, sale_ref=f"sale:{coupon.pk}:{n}", member=member
                )
                won.append(n)
            except CouponUsed:
                refused.append(n)

        run_clients(2, till)
        # then: exactly one till succeeded, the other was told the coupon is used
        assert len(won) == 1 and len(refused) == 1
        coupon.refresh_from_db()
        assert coupon.status == "redeemed" and coupon.redemption_ref == f"sale:{coupon.pk}:{won[0]}"
    assert AuditEntry.objects.filter(subject_type="promotions.coupon", note__startswith="redeem").count() == 5


# ---- voiding ------------------------------------------------------------------------------------------------


def test_voiding_an_unused_coupon_needs_a_reason_and_is_audited(chain, member):
    coupon = coupons.issue_by_hand(None, make_template(chain), member)
    with pytest.raises(ValidationFailed):
        coupons.void_coupon(chain.hq_admin, coupon, reason=" ")
    void = coupons.void_coupon(chain.hq_admin, coupon, reason="issued to the wrong member")
    assert void.status == CouponStatus.VOID
    row = AuditEntry.objects.get(subject_type="promotions.coupon", subject_id=str(coupon.pk))
    assert row.note == "issued to the wrong member" and row.after == {"status": "void"}
    with pytest.raises(Exception) as info:
        coupons.void_coupon(chain.hq_admin, coupon, reason="again")
    assert info.value.code == "coupon_void"


def test_a_used_coupon_cannot_be_voided(chain, member):
    coupon = coupons.issue_by_hand(
        None, make_template(chain, kind=CouponKind.COUNT, value=2, min_spend=0), member
    )
    coupon_redemption.redeem(coupon.code, store=chain.a1, sale_ref="s1", member=member)
    with pytest.raises(CouponUsed):
        coupons.void_coupon(chain.hq_admin, coupon, reason="x")
    coupon.refresh_from_db()
    assert coupon.status == CouponStatus.ISSUED and coupon.uses_left == 1


# ---- merging members ----------------------------------------------------------------------------------------


def test_a_merged_member_s_coupons_go_to_the_survivor(chain, member_factory):
    from onecard.members import merging as member_merging
    from onecard.members.signals import member_merged

    # given: both members got the joining coupon, the merged one also a hand-issued coupon
    member_merged.connect(coupons.move_coupons_of_merged_member, dispatch_uid="promotions_move_coupons")
    survivor, merged = member_factory(), member_factory()
    join = make_template(chain, issue_rule=IssueRule.JOIN)
    coupons.issue_on_join(survivor)
    coupons.issue_on_join(merged)
    hand = coupons.issue_by_hand(None, make_template(chain), merged)
    # when they are merged
    member_merging.merge_members(chain.hq_admin, survivor, merged)
    # then: the survivor holds all three and may use the merged member's coupon
    assert Coupon.objects.filter(member=survivor).count() == 3
    assert sorted(Coupon.objects.filter(template=join).values_list("rule_key", flat=True)) == [
        "join",
        f"join:m{merged.pk}",
    ]
    assert coupon_redemption.offers_for(survivor, chain.a1, None, [hand.code])[0].code == hand.code


def test_a_segment_file_naming_too_many_members_is_refused(chain, monkeypatch):
    monkeypatch.setattr(coupons, "MAX_SEGMENT_ROWS", 2)
    text = "phone\n13900000001\n13900000002\n13900000003\n"
    with pytest.raises(Exception) as info:
        coupons.read_segment_file(chain.merchant, io.BytesIO(text.encode()), "list.csv")
    assert info.value.code == "coupon_file_too_long"
