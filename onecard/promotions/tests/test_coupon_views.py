"""Coupon pages: permissions, scoping by org node, and the happy paths (templates, issuing, list, detail)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from onecard.core.models import AuditEntry
from onecard.promotions import coupon_redemption, coupons
from onecard.promotions.coupon_codes import display_code
from onecard.promotions.models import Coupon, CouponIssue, CouponTemplate
from onecard.testing.coupons import make_template

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def form_data(**overrides):
    data = {
        "name": "满100减20",
        "kind": "cash",
        "cash_amount": "20",
        "min_spend": "100",
        "valid_days": "30",
        "restore_on_return": "if_valid",
        "stacks_with_promotions": "on",
        "active": "on",
        "issue_rule": "",
    }
    data.update(overrides)
    return data


# ---- permissions and scoping ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "url", "status"),
    [
        ("cashier_a1", "coupons:templates", 403),
        ("cashier_a1", "coupons:list", 403),
        ("cashier_a1", "coupons:template_new", 403),
        ("store_manager", "coupons:templates", 200),
        ("store_manager", "coupons:template_new", 403),
        ("marketer", "coupons:template_new", 200),
        ("region_manager", "coupons:template_new", 200),
    ],
)
def test_pages_need_their_permission(chain, login, user, url, status):
    response = login(getattr(chain, user)).get(reverse(url), **EN)
    assert response.status_code == status


def test_a_region_sees_its_own_and_head_office_templates_but_not_another_region_s(chain, login):
    hq = make_template(chain, name="总部券")
    east = make_template(chain, node=chain.east, name="华东券")
    north = make_template(chain, node=chain.north, name="华北券")
    body = login(chain.region_manager).get(reverse("coupons:templates"), **EN).content.decode()
    assert "总部券" in body and "华东券" in body and "华北券" not in body
    # and may edit only its own
    client = login(chain.region_manager)
    assert client.get(reverse("coupons:template_edit", args=[east.pk]), **EN).status_code == 200
    assert client.get(reverse("coupons:template_edit", args=[hq.pk]), **EN).status_code == 403
    assert client.get(reverse("coupons:template_edit", args=[north.pk]), **EN).status_code == 404


def test_another_merchant_sees_none_of_the_templates_or_coupons(chain, login, member_factory):
    template = make_template(chain, name="总部券")
    coupon = coupons.issue_by_hand(None, template, member_factory())
    client = login(chain.other_manager)
    assert "总部券" not in client.get(reverse("coupons:templates"), **EN).content.decode()
    assert client.get(reverse("coupons:coupon", args=[coupon.code]), **EN).status_code == 404
    assert coupon.code not in client.get(reverse("coupons:list"), **EN).content.decode()


def test_a_store_sees_only_the_coupons_of_its_own_members(chain, login, member_factory):
    template = make_template(chain)
    mine = coupons.issue_by_hand(None, template, member_factory(store=chain.a1))
    theirs = coupons.issue_by_hand(None, template, member_factory(store=chain.b1))
    body = login(chain.store_manager).get(reverse("coupons:list"), **EN).content.decode()
    assert mine.code in body and theirs.code not in body


# ---- templates ---------------------------------------------------------------------------------------------


def test_a_marketer_creates_a_discount_template_from_plain_fields(chain, login):
    client = login(chain.marketer)
    data = form_data(
        name="85折券", kind="discount", cash_amount="", discount_percent="85", cap="50", product_ids="12, 15",
        node=chain.hq.pk, stores=[chain.a1.pk, chain.a2.pk], per_member_limit="2",
    )  # fmt: skip
    response = client.post(reverse("coupons:template_new"), data, **EN)
    assert response.status_code == 302
    template = CouponTemplate.objects.get(name="85折券")
    assert (template.kind, template.value, template.cap, template.min_spend) == ("discount", 850, 5000, 10000)
    assert template.product_ids == [12, 15] and template.per_member_limit == 2
    assert {s.pk for s in template.stores.all()} == {chain.a1.pk, chain.a2.pk}
    assert AuditEntry.objects.filter(subject_type="promotions.coupontemplate", actor=chain.marketer).exists()


def test_a_template_form_with_a_missing_amount_shows_the_error_and_saves_nothing(chain, login):
    client = login(chain.marketer)
    response = client.post(reverse("coupons:template_new"), form_data(cash_amount="", node=chain.hq.pk), **EN)
    assert response.status_code == 400
    assert "Enter the amount the voucher takes off." in response.content.decode()
    assert not CouponTemplate.objects.exists()


def test_editing_a_template_through_the_form(chain, login):
    template = make_template(chain, node=chain.east, name="华东券")
    client = login(chain.region_manager)
    page = client.get(reverse("coupons:template_edit", args=[template.pk]), **EN).content.decode()
    assert 'value="华东券"' in page and 'value="20.00"' in page
    data = form_data(name="华东券", cash_amount="30", node=chain.east.pk)
    assert client.post(reverse("coupons:template_edit", args=[template.pk]), data, **EN).status_code == 302
    template.refresh_from_db()
    assert template.value == 3000


def test_a_region_cannot_post_a_template_for_another_region(chain, login):
    client = login(chain.region_manager)
    response = client.post(reverse("coupons:template_new"), form_data(node=chain.north.pk), **EN)
    assert response.status_code == 400 and not CouponTemplate.objects.exists()


# ---- issuing -----------------------------------------------------------------------------------------------


def test_issue_by_hand_finds_the_member_by_phone_and_shows_the_coupon(chain, login, member_factory):
    member = member_factory(phone="13912345678")
    template = make_template(chain)
    client = login(chain.store_manager)
    response = client.post(
        reverse("coupons:issue", args=[template.pk]), {"action": "hand", "member": "13912345678"}, **EN
    )
    coupon = Coupon.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "coupons:coupon", args=[coupon.code]
    )
    assert coupon.member == member and coupon.issued_by == chain.store_manager
    page = client.get(response["Location"], **EN).content.decode()
    assert display_code(coupon.code) in page and "<svg" in page and "¥20.00 off · from ¥100.00" in page


def test_issue_by_hand_to_a_member_of_another_store_is_refused(chain, login, member_factory):
    member_factory(store=chain.b1, phone="13912345679")
    template = make_template(chain)
    response = login(chain.store_manager).post(
        reverse("coupons:issue", args=[template.pk]), {"action": "hand", "member": "13912345679"}, **EN
    )
    assert response.status_code == 400
    assert "No member has this phone or member number." in response.content.decode()
    assert not Coupon.objects.exists()


def test_issue_by_hand_at_the_limit_shows_the_refusal(chain, login, member_factory):
    member = member_factory(phone="13912345670")
    template = make_template(chain, per_member_limit=1)
    coupons.issue_by_hand(None, template, member)
    response = login(chain.hq_admin).post(
        reverse("coupons:issue", args=[template.pk]), {"action": "hand", "member": member.member_no}, **EN
    )
    assert response.status_code == 400
    assert "The member already has as many of these coupons as allowed." in response.content.decode()
    assert Coupon.objects.count() == 1


def test_a_cashier_cannot_issue(chain, login):
    template = make_template(chain)
    assert login(chain.cashier_a1).get(reverse("coupons:issue", args=[template.pk])).status_code == 403


def upload(text, name="list.csv"):
    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")


def test_bulk_issue_checks_the_file_then_issues_on_confirm(chain, login, member_factory):
    # given: a file with two known phones and one unknown
    first = member_factory(phone="13911110001")
    second = member_factory(phone="13911110002")
    template = make_template(chain)
    client = login(chain.hq_admin)
    url = reverse("coupons:issue", args=[template.pk])
    # when it is checked: a dry run, nothing issued
    text = "phone\n13911110001\n13911110002\n13999999999\n"
    response = client.post(url, {"action": "check", "file": upload(text)}, **EN)
    body = response.content.decode()
    assert response.status_code == 200
    assert "list.csv: 3 rows, 2 members found." in body and "13999999999" in body
    assert "Issue 2 coupons" in body and not Coupon.objects.exists()
    token = response.context["token"]
    # and confirmed
    response = client.post(url, {"action": "confirm", "token": token}, **EN)
    assert response.status_code == 302
    assert sorted(Coupon.objects.values_list("member_id", flat=True)) == sorted([first.pk, second.pk])
    batch = CouponIssue.objects.get()
    assert batch.how == "file" and batch.note == "list.csv" and batch.count == 2
    # a second confirm with the same token issues nothing more
    client.post(url, {"action": "confirm", "token": token}, **EN)
    assert Coupon.objects.count() == 2


def test_a_bulk_file_over_the_limit_cannot_be_confirmed(chain, login, member_factory):
    member_factory(phone="13911110003")
    template = make_template(chain, per_member_limit=1)
    client = login(chain.hq_admin)
    url = reverse("coupons:issue", args=[template.pk])
    response = client.post(
        url, {"action": "check", "file": upload("phone\n13911110003\n13911110003\n")}, **EN
    )
    body = response.content.decode()
    assert 'data-problem="over_limit"' in body and "issue-confirm-form" not in body
    response = client.post(url, {"action": "confirm", "token": response.context["token"]}, **EN)
    assert not Coupon.objects.exists()


def test_an_unreadable_file_is_reported(chain, login):
    template = make_template(chain)
    response = login(chain.hq_admin).post(
        reverse("coupons:issue", args=[template.pk]),
        {"action": "check", "file": upload("x", "list.pdf")},
        **EN,
    )
    assert (
        response.status_code == 400
        and "Only .xlsx and .csv files can be imported" in response.content.decode()
    )


# ---- the coupon list ---------------------------------------------------------------------------------------


def test_the_coupon_list_filters_by_template_status_and_member(chain, login, member_factory):
    alice, bob = member_factory(phone="13911110011"), member_factory(phone="13911110012")
    one, two = make_template(chain, name="甲券"), make_template(chain, name="乙券")
    a1 = coupons.issue_by_hand(None, one, alice)
    b1 = coupons.issue_by_hand(None, one, bob)
    a2 = coupons.issue_by_hand(None, two, alice)
    coupon_redemption.redeem(b1.code, store=chain.a1, sale_ref="sale:1", member=bob)
    client = login(chain.hq_admin)

    def codes(**params):
        response = client.get(reverse("coupons:list"), params, **EN)
        return {c.code for c in response.context["page"].object_list}

    assert codes() == {a1.code, b1.code, a2.code}
    assert codes(template=one.pk) == {a1.code, b1.code}
    assert codes(status="redeemed") == {b1.code}
    assert codes(member="13911110011") == {a1.code, a2.code}
    assert codes(member=bob.member_no, status="issued") == set()


def test_a_coupon_is_cancelled_from_its_page(chain, login, member_factory):
    coupon = coupons.issue_by_hand(None, make_template(chain), member_factory())
    client = login(chain.store_manager)
    assert (
        "coupon-void-form" in client.get(reverse("coupons:coupon", args=[coupon.code]), **EN).content.decode()
    )
    response = client.post(reverse("coupons:coupon_void", args=[coupon.code]), {"reason": "lost"}, **EN)
    assert response.status_code == 302
    coupon.refresh_from_db()
    assert coupon.status == "void"
    # a cashier may not
    other = coupons.issue_by_hand(None, make_template(chain), member_factory())
    response = login(chain.cashier_a1).post(
        reverse("coupons:coupon_void", args=[other.code]), {"reason": "x"}
    )
    assert response.status_code == 403


def test_the_member_page_lists_usable_coupons_first_then_used_ones(chain, login, member_factory):
    # given a member with a coupon used by sale S-9 and a newer usable one
    member = member_factory(store=chain.a1)
    template = make_template(chain, name="满100减20")
    used = coupons.issue_by_hand(None, template, member)
    coupon_redemption.redeem(used.code, store=chain.a1, sale_ref="S-9", member=member)
    usable = coupons.issue_by_hand(None, template, member)
    # when the store manager opens the member's page
    body = login(chain.store_manager).get(reverse("members:detail", args=[member.pk]), **EN).content.decode()
    # then the coupons section lists the usable one first, then the used one with its sale
    assert "1 coupon can be used now." in body
    assert body.index(usable.code) < body.index(used.code)
    assert "S-9" in body
