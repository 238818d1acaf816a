"""The demo catalogue, promotions, coupons and sales of `onecard seed-demo`: made through the services, in
the past, once; the ledger stays clean and the till-demo card keeps its balance."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.db.models import Count, Max, Min, Sum
from django.utils import timezone

from onecard.catalog.choices import ProductKind
from onecard.catalog.demo import ean13
from onecard.catalog.models import Category, MemberPrice, Product
from onecard.loyalty.cards.services import STORED_VALUE_KINDS, card_balances
from onecard.loyalty.models import Card, JournalEntry, Tier
from onecard.members.models import Member
from onecard.promotions import coupons
from onecard.promotions.coupon_choices import CouponKind, IssueHow, IssueRule
from onecard.promotions.demo import SHANGHAI, _till_demo_card
from onecard.promotions.models import Coupon, CouponTemplate, Promotion, PromotionKind, PromotionUse
from onecard.sales.models import Sale, SaleKind, SaleReturn, SaleTender
from onecard.testing.stored_value import assert_ledger_clean

TILL_CARD = "8888000000018"


def test_ean13_appends_the_gs1_check_digit():
    # the check digit of GS1's own example and of a Chinese (69) code
    assert ean13("400638133393") == "4006381333931"
    assert ean13("690123456789") == "6901234567892"
    assert ean13("692116800000") == "6921168000005"
    with pytest.raises(ValueError):
        ean13("69211680000")


def test_the_till_demo_card_is_the_one_the_loyalty_demo_prints():
    assert _till_demo_card() == TILL_CARD


def _birthday_coupons_expected(template, now):
    """Members born on each day whose 08:00 birthday run came after the template, up to yesterday."""
    expected = 0
    day = timezone.localtime(template.created_at, SHANGHAI).date()
    while day < timezone.localdate(now, SHANGHAI):
        run = datetime.datetime.combine(day, datetime.time(8), tzinfo=SHANGHAI)
        if run > template.created_at:
            expected += coupons._birthday_members(day).filter(merchant=template.merchant).count()
        day += datetime.timedelta(days=1)
    return expected


def _assert_the_catalogue():
    """280 barcoded products in 20 sub-categories of 7 departments, 8 services, member prices on every 4th."""
    products = Product.objects.all()
    assert products.count() == 288
    assert products.filter(kind=ProductKind.SERVICE, barcode="").count() == 8
    barcodes = list(products.filter(kind=ProductKind.PRODUCT).values_list("barcode", flat=True))
    assert len(barcodes) == 280 and all(len(b) == 13 and ean13(b[:12]) == b for b in barcodes)
    depths = Category.objects.values("depth").annotate(n=Count("id")).order_by("depth")
    assert [(row["depth"], row["n"]) for row in depths] == [(0, 8), (1, 21)]
    assert not products.filter(category__depth=0).exists()
    # every 4th product has a member price for each tier, below its list price
    tiers = Tier.objects.count()
    assert MemberPrice.objects.count() == 70 * tiers == 280
    assert all(mp.price < mp.product.list_price for mp in MemberPrice.objects.select_related("product"))


def _assert_the_promotions():
    """Every kind, the 满减 group of three, a limited flash sale (returned) and an East-region one."""
    promotions = Promotion.objects.all()
    assert set(promotions.values_list("kind", flat=True)) == set(PromotionKind.values)
    assert promotions.filter(exclusive_group="满减").count() == 3
    flash = promotions.get(stock_total__isnull=False)
    assert flash.per_member_limit == 1
    east = promotions.get(node__kind="region")
    assert east.store_ids and east.kind == PromotionKind.NTH_DISCOUNT
    return flash


def _assert_the_coupons(now):
    """Templates of four kinds with a joining and a birthday rule, their batches and issues, none overdue."""
    templates = CouponTemplate.objects.all()
    assert set(templates.values_list("kind", flat=True)) == set(CouponKind.values)
    assert set(templates.exclude(issue_rule="").values_list("issue_rule", flat=True)) == {
        IssueRule.JOIN, IssueRule.BIRTHDAY}  # fmt: skip
    # batches to lists of card holders (80, 70, 60, 30 and 25 of them, as many as there are) and 30 bearer vouchers
    holders = (
        Card.objects.filter(status="active", member__isnull=False)
        .exclude(number=TILL_CARD)
        .values("member")
        .distinct()
    ).count()
    assert holders == 39
    assert Coupon.objects.filter(issue__how=IssueHow.BULK).count() == 39 * 3 + 30 + 25 + 30
    assert Coupon.objects.filter(issue__how=IssueHow.BULK, member__isnull=True).count() == 30
    # every member who joined after the joining rule started got one coupon, when joining
    join = templates.get(issue_rule=IssueRule.JOIN)
    joined = Coupon.objects.filter(template=join).select_related("member")
    assert all(c.issued_at == c.member.created_at for c in joined)
    assert joined.count() == Member.objects.filter(created_at__gt=join.created_at).count()
    # and every member whose birthday came since the birthday rule started got one, on the day
    birthday = templates.get(issue_rule=IssueRule.BIRTHDAY)
    born = Coupon.objects.filter(template=birthday).select_related("member")
    assert born.count() == _birthday_coupons_expected(birthday, now)
    for c in born:
        day = timezone.localtime(c.issued_at, SHANGHAI).date()
        assert (c.member.birthday.month, c.member.birthday.day) == (day.month, day.day)
    # nothing is left issued past its window: the expiry job ran
    assert not Coupon.objects.filter(status="issued", valid_until__lte=now).exists()


def _assert_the_sales(now, flash):
    """90 checkouts over the last 60 days in opening hours, with promotions, coupons, tenders and returns."""
    sales = Sale.objects.filter(kind=SaleKind.CHECKOUT)
    assert sales.count() == 90 and not sales.exclude(business_ref__startswith="DEMO-").exists()
    span = sales.aggregate(first=Min("created_at"), last=Max("created_at"))
    assert now - datetime.timedelta(days=61) < span["first"] and span["last"] < now
    assert all(10 <= timezone.localtime(s.created_at, SHANGHAI).hour < 22 for s in sales)
    assert sales.exclude(promotions=[]).count() > 45
    assert sales.exclude(coupons=[]).count() > 0
    assert sales.filter(card__isnull=True).exists() and sales.filter(card__isnull=False).exists()
    kinds = set(SaleTender.objects.values_list("kind", flat=True))
    assert {"stored_value", "wechat", "alipay", "cash", "bank_card"} <= kinds
    assert SaleTender.objects.values("sale").annotate(n=Count("id")).filter(n__gt=1).exists()  # mixed tenders
    # stored value is taken only at the card's issuing store (no clearing between stores)
    for tender in SaleTender.objects.filter(kind="stored_value", sale__in=sales).select_related("sale__card"):
        assert tender.sale.store_id == tender.sale.card.issued_store_id
    # the flash sale never sold more than its stock, and every 30th sale came back
    assert (PromotionUse.objects.filter(promotion=flash).aggregate(n=Sum("quantity"))["n"] or 0) <= 20
    assert SaleReturn.objects.filter(sale__in=sales).count() == 3
    # the till-demo card was never used and still has money for the till demo
    till = Card.objects.get(number=TILL_CARD)
    assert not sales.filter(card=till).exists()
    assert sum(card_balances(till).get(kind, 0) for kind in STORED_VALUE_KINDS) > 0


@pytest.mark.slow
def test_seed_demo_adds_a_catalogue_promotions_coupons_and_sales_once(db):
    now = timezone.now()
    out = io.StringIO()
    # when the demo is seeded with a small loyalty history and 90 sales
    call_command("seed_demo", members=150, cards=40, history_days=30, sales=90, stdout=out)
    text = out.getvalue()
    # then the catalogue: 280 products in 20 sub-categories of 7 departments, 8 services
    assert "demo catalogue: 288 products in 29 categories; 13 promotions; 6 coupon templates" in text
    _assert_the_catalogue()
    # the promotions: every kind, the 满减 group of three, a limited flash sale, an East-region one
    flash = _assert_the_promotions()
    # the coupon templates: four kinds, a joining and a birthday rule, their batches and issues
    _assert_the_coupons(now)
    # the sales: 90 over the last 60 days in opening hours, through the checkout
    _assert_the_sales(now, flash)
    assert_ledger_clean()
    assert "demo sales: 90 (" in text and "3 returns" in text and "refused" not in text.split("demo sales")[1]

    # when seed-demo runs again
    counts = [model.objects.count() for model in (Product, Promotion, Coupon, Sale, JournalEntry)]
    again = io.StringIO()
    call_command("seed_demo", members=150, cards=40, history_days=30, sales=90, stdout=again)
    # then it adds nothing
    assert "demo catalogue, promotions and sales already present" in again.getvalue()
    assert [model.objects.count() for model in (Product, Promotion, Coupon, Sale, JournalEntry)] == counts
