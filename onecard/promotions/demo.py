"""Demo promotions for `onecard seed-demo`: a catalogue, running promotions, coupons and 60 days of sales.

Runs after the loyalty demo (loyalty/demo.py), on its merchant, tiers, cards and staff. Everything
goes through the services a clerk or a till uses: catalog.services (catalog/demo.py), rules.create_promotion,
coupon_templates.create_template, coupons.issue_bulk / issue_bearer / issue_on_join / issue_on_birthday /
expire_coupons, and the till's quote, checkout and return_sale (sales.checkout and sales.returns, handed in by
the project's demo: promotions sit below sales), at past times on the moved clock
(core/clock.py), so every sale, coupon and journal entry carries its own past time and `onecard ledger
verify` stays clean.

The story: head office runs ~13 promotions covering every kind (member price and a Wednesday member day,
满减 tiers and "every ¥100", 满赠, 满折, 买二送一, 第二件半价 in the East region, a bundle, a limited
flash sale, a birthday-month offer, an ended clearance and an ended Golden Week campaign), and six
coupon templates (cash voucher with a minimum spend, discount with a cap, a gift coupon for a coffee,
a count coupon for shoe care, a joining coupon and a birthday coupon). Coupons go out in batches to card
holders, as bearer vouchers, on joining and on birthdays; the daily expiry job runs each night.

Sales: `sales` checkouts (300 by default) over the last 60 days in opening hours, busier at weekends.
A third are anonymous; the others present a member card (the till-demo card 8888000000018 is never
used, so it keeps its balance). Baskets are drawn around themes that trigger the promotions; members
present their usable coupons about half the time. Tenders: stored value (only at the card's issuing
store, so no inter-store clearing lands in settlement statements the loyalty demo already built), some
points as cash, then WeChat, Alipay, cash or bank card for the rest. Every 30th sale comes back within
a week, in full or in part.

The whole demo is one transaction: a failure leaves nothing behind, so seed-demo's "the catalogue
exists" check means a complete demo. Deterministic for a given seed and `now`.

Size: a sale costs a quote and a checkout (~30 ms of CPU on SQLite on the 2-core CI machine), so 300
sales, the catalogue and the coupons take about 10 s there; seed-demo prints the time (`--sales` sets
the number).
"""

import datetime
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from onecard.catalog.demo import seed_catalog
from onecard.core.clock import moved_now
from onecard.loyalty.cards.choices import CardStatus
from onecard.loyalty.cards.numbers import card_number
from onecard.loyalty.demo import STORED_VALUE_PREFIX
from onecard.loyalty.models import Card, Tier
from onecard.loyalty.points import services as points
from onecard.members.models import Member
from onecard.org.demo import DemoTimeline

from . import coupon_templates, coupons, rules
from .coupon_choices import CouponKind, CouponStatus, IssueHow, IssueRule, RestorePolicy
from .models import Coupon, PromotionKind

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_SEED = 20261126
SALES = 400
DAYS = 60
ANONYMOUS_SHARE = 0.33
RETURN_EVERY = 30  # every 30th sale comes back, in full or in part
# (kind, weight) of the tender that pays what stored value and points leave
EXTERNAL_TENDERS = [("wechat", 40), ("alipay", 25), ("cash", 20), ("bank_card", 15)]
# Basket themes (name, weight): each one makes some promotion or coupon fire.
THEMES = [
    ("snacks", 14), ("dairy", 10), ("bundle", 6), ("flash", 6), ("cafe", 12), ("fashion", 12),
    ("digital", 8), ("beauty", 12), ("home", 10), ("kids", 6), ("grocery", 8), ("care", 4),
]  # fmt: skip


@dataclass
class DemoPromotions:
    """What the seed made: counts for the seed-demo output and the tests."""

    products: int = 0
    categories: int = 0
    promotions: int = 0
    templates: int = 0
    coupons: int = 0
    sales: int = 0
    returns: int = 0
    coupons_used: int = 0
    with_promotions: int = 0
    tenders: Counter = field(default_factory=Counter)
    refused: Counter = field(default_factory=Counter)
    seconds: float = 0.0


def _local(day, hour, minute=0):
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=SHANGHAI)


class _Demo(DemoTimeline):
    """The set-up and the events of the demo period on the demo timeline."""

    def __init__(self, merchant, rng, clock, first_day, end, summary, till):
        super().__init__(rng, clock, list(merchant.nodes.filter(kind="store").order_by("id")), summary)
        self.merchant, self.till, self.first_day, self.end = merchant, till, first_day, end
        self.days = (end.astimezone(SHANGHAI).date() - first_day).days
        self.hq = merchant.nodes.get(kind="hq")
        self.bearer_codes = []
        self.holders, self.card_of, self.coupon_cards = [], {}, {}
        self.coupon_members = set()  # members given a coupon so far: only they look for usable ones

    def day(self, n) -> datetime.date:
        return self.first_day + datetime.timedelta(days=n)

    # -- set-up
    def setup(self, tiers):
        self.catalog = seed_catalog(self.merchant, tiers)
        self.summary.products = len(self.catalog.products)
        self.summary.categories = len(self.catalog.categories)
        self.tiers = {tier.name: tier for tier in tiers}
        self.promotions = self.create_promotions()
        self.summary.promotions = len(self.promotions)

    def create_promotions(self):
        cat, days = self.catalog, self.day
        c = {code: category.pk for code, category in cat.categories.items()}
        east = self.merchant.nodes.get(kind="region", code="EAST")
        east_stores = [s.pk for s in self.stores if s.path.startswith(east.path)][:3]
        tier_ids = [tier.pk for tier in self.tiers.values() if tier.rank >= 1]  # silver and above
        shampoo, conditioner = cat.by_name("控油洗发水"), cat.by_name("柔顺护发素")
        bundle_price = (shampoo.list_price + conditioner.list_price) * 75 // 100 // 100 * 100
        self.rice_cooker = cat.by_name("电饭煲")
        self.bag = cat.by_name("环保购物袋")
        self.flash_from = days(40)
        start, finish = _local(days(0), 0), _local(days(90), 0)
        specs = [
            # (owner, fields)
            (self.hq, {"name": "银卡及以上 美妆会员88折", "kind": PromotionKind.MEMBER_PRICE,
                       "params": {"rate": "0.88", "tier_ids": tier_ids}, "category_ids": [c["BEAUTY"]],
                       "priority": 20}),
            (self.hq, {"name": "周三会员日 会员95折", "kind": PromotionKind.MEMBER_PRICE,
                       "params": {"rate": "0.95"}, "weekdays": [3], "priority": 20}),
            (self.hq, {"name": "秋冬满减 满200减20 满500减60", "kind": PromotionKind.THRESHOLD_CASH,
                       "params": {"steps": [{"min": 20000, "off": 2000}, {"min": 50000, "off": 6000}]},
                       "exclusive_group": "满减", "priority": 10}),
            (self.hq, {"name": "食品每满100减10", "kind": PromotionKind.THRESHOLD_CASH,
                       "params": {"steps": [{"min": 10000, "off": 1000}], "repeat": True},
                       "category_ids": [c["FOOD"]], "exclusive_group": "满减", "priority": 8}),
            (self.hq, {"name": "满300送环保购物袋", "kind": PromotionKind.THRESHOLD_GIFT,
                       "params": {"min": 30000, "gift_product_id": self.bag.pk}, "priority": 5}),
            (self.hq, {"name": "数码家电满800享95折", "kind": PromotionKind.THRESHOLD_DISCOUNT,
                       "params": {"min": 80000, "rate": "0.95"}, "category_ids": [c["DIGITAL"]],
                       "priority": 6}),
            (self.hq, {"name": "零食买二送一", "kind": PromotionKind.BUY_X_GET_Y,
                       "params": {"buy": 2, "free": 1}, "category_ids": [c["SNACK"]], "priority": 15,
                       "applies_over_member_price": False}),
            (east, {"name": "华东乳品第二件半价", "kind": PromotionKind.NTH_DISCOUNT,
                    "params": {"nth": 2, "rate": "0.5"}, "category_ids": [c["DAIRY"]],
                    "store_ids": east_stores, "priority": 15}),
            (self.hq, {"name": "洗护套装组合价", "kind": PromotionKind.BUNDLE,
                       "params": {"product_ids": [shampoo.pk, conditioner.pk], "price": bundle_price},
                       "priority": 15}),
            (self.hq, {"name": "电饭煲限时秒杀 7折 限量20台", "kind": PromotionKind.DISCOUNT,
                       "params": {"rate": "0.7"}, "product_ids": [self.rice_cooker.pk], "priority": 30,
                       "stock_total": 20, "per_member_limit": 1, "stacks_with_coupons": False,
                       "valid_from": _local(self.flash_from, 10), "valid_to": _local(days(75), 0)}),
            (self.hq, {"name": "生日月立减20元", "kind": PromotionKind.BIRTHDAY,
                       "params": {"window": "month", "amount_off": 2000}, "per_member_limit": 1,
                       "priority": 12}),
            (self.hq, {"name": "换季特惠 服饰85折", "kind": PromotionKind.DISCOUNT,
                       "params": {"rate": "0.85"}, "category_ids": [c["FASHION"]], "priority": 10,
                       "stacks_with_coupons": False, "valid_to": _local(days(50), 0)}),
            (self.hq, {"name": "黄金周 满300减50", "kind": PromotionKind.THRESHOLD_CASH,
                       "params": {"steps": [{"min": 30000, "off": 5000}]}, "exclusive_group": "满减",
                       "priority": 12, "valid_from": _local(days(5), 0), "valid_to": _local(days(12), 0)}),
        ]  # fmt: skip
        created = []
        for owner, data in specs:
            created.append(
                rules.create_promotion(
                    None, self.merchant, owner, {"valid_from": start, "valid_to": finish, **data}
                )
            )
        return created

    def create_templates(self, specs):
        """Coupon templates owned by head office, through the service."""
        made = []
        for data in specs:
            made.append(coupon_templates.create_template(None, self.merchant, node=self.hq, **data))
        self.summary.templates += len(made)
        return made

    def schedule_coupons(self, card_members, joiners):
        """Templates and their batches: two voucher drops, a discount drop, gift and count coupons, rules."""
        cat, days, rng = self.catalog, self.day, self.rng
        self.coffee = cat.by_name("美式咖啡")
        self.shoe_care = cat.by_name("擦鞋护理")
        voucher, discount, gift, count = self.create_templates([
            {"name": "满200减30代金券", "kind": CouponKind.CASH, "value": 3000, "min_spend": 20000,
             "valid_days": 30, "per_member_limit": 2, "restore_on_return": RestorePolicy.IF_VALID},
            {"name": "9折券 最高减50元", "kind": CouponKind.DISCOUNT, "value": 900, "cap": 5000,
             "min_spend": 10000, "valid_days": 21, "stacks_with_promotions": False},
            {"name": "精品咖啡兑换券", "kind": CouponKind.GIFT, "gift_product_id": self.coffee.pk,
             "valid_from": days(0), "valid_to": days(80), "restore_on_return": RestorePolicy.NEVER},
            {"name": "擦鞋护理5次券", "kind": CouponKind.COUNT, "value": 5,
             "product_ids": [self.shoe_care.pk], "valid_days": 90, "per_member_limit": 1},
        ])  # fmt: skip
        pick = lambda n: rng.sample(card_members, min(n, len(card_members)))  # noqa: E731
        self.at(_local(days(8), 9, 30), self.issue, voucher, pick(80), "秋季会员回馈")
        self.at(_local(days(38), 9, 30), self.issue, voucher, pick(70), "双十一预热")
        self.at(_local(days(22), 9, 30), self.issue, discount, pick(60), "沉睡会员唤醒")
        self.at(_local(days(2), 9, 30), self.issue, gift, pick(30), "咖啡角开业")
        self.at(_local(days(2), 9, 40), self.issue_bearer, gift, 30)
        self.at(_local(days(12), 9, 30), self.issue, count, pick(25), "鞋靴顾客关怀")
        # The joining and birthday rules start two weeks before today (they issue from then on).
        rules_from = _local(days(self.days - 14), 7)
        self.at(rules_from, self.create_rule_templates)
        for member in joiners:
            if member.created_at > rules_from:
                self.at(member.created_at, self.join, member)
        for n in range(self.days):
            if _local(days(n), 8) > rules_from:
                self.at(_local(days(n), 8), self.birthdays)
            self.at(_local(days(n), 3, 40), self.expire)

    # -- coupon events
    def issue(self, when, template, members, note):
        issue = coupons.issue_bulk(None, template, members, note=note, at=when)
        self.summary.coupons += issue.count
        self.coupon_members.update(member.pk for member in members)
        for member in members:  # these card holders come back to use them
            if member.pk in self.card_of:
                self.coupon_cards.setdefault(member.pk, self.card_of[member.pk])

    def issue_bearer(self, when, template, count):
        issue = coupons.issue_bearer(None, template, count, note="门店派发", at=when)
        self.summary.coupons += issue.count
        self.bearer_codes += list(issue.coupons.values_list("code", flat=True))

    def create_rule_templates(self, when):
        self.create_templates([
            {"name": "新会员礼券 满100减20", "kind": CouponKind.CASH, "value": 2000, "min_spend": 10000,
             "valid_days": 30, "issue_rule": IssueRule.JOIN, "per_member_limit": 1},
            {"name": "生日礼券 满200减50", "kind": CouponKind.CASH, "value": 5000, "min_spend": 20000,
             "valid_days": 30, "issue_rule": IssueRule.BIRTHDAY},
        ])  # fmt: skip

    def join(self, when, member):
        issued = coupons.issue_on_join(member, at=when)
        self.summary.coupons += len(issued)
        self.coupon_members.update(coupon.member_id for coupon in issued)

    def birthdays(self, when):
        before = self.summary.coupons
        self.summary.coupons += coupons.issue_on_birthday(timezone.localdate(when, SHANGHAI), at=when)
        if self.summary.coupons > before:
            self.coupon_members.update(
                Coupon.objects.filter(issue__how=IssueHow.BIRTHDAY, issued_at=when).values_list(
                    "member_id", flat=True
                )
            )

    def expire(self, when):
        coupons.expire_coupons(when)

    # -- sales
    def basket(self, theme, when):
        """[(sku or barcode, quantity)] around `theme`, plus up to two other products."""
        cat, rng = self.catalog, self.rng

        def some(code, quantity=1):
            product = rng.choice(cat.in_category(code))
            # A scanner reads the barcode; a clerk types the SKU of a product without one.
            return (product.barcode or product.sku, quantity)

        if theme == "snacks":
            items = [some("SNACK", 3)] if rng.random() < 0.6 else [some("SNACK", 2), some("SNACK", 1)]
        elif theme == "dairy":
            items = [some("DAIRY", 2), some("DAIRY", rng.randint(1, 2))]
        elif theme == "bundle":
            items = [(cat.by_name("控油洗发水").sku, 1), (cat.by_name("柔顺护发素").sku, 1)]
        elif theme == "flash":
            items = [(self.rice_cooker.sku, 1)] if when.date() >= self.flash_from else [some("APPLIANCE")]
        elif theme == "cafe":
            items = [(self.coffee.sku, rng.randint(1, 2)), some("BAKERY")]
        elif theme == "fashion":
            items = [some(rng.choice(["WOMEN", "MEN", "SHOES", "BAGS"])) for _ in range(rng.randint(1, 2))]
        elif theme == "digital":
            items = [some("APPLIANCE"), some("ACCESSORY")] if rng.random() < 0.5 else [some("ACCESSORY")]
        elif theme == "beauty":
            items = [some(rng.choice(["SKIN", "MAKEUP", "HAIR"])) for _ in range(rng.randint(1, 3))]
        elif theme == "home":
            items = [some(rng.choice(["TEXTILE", "KITCHEN", "CLEAN"])) for _ in range(rng.randint(1, 2))]
        elif theme == "kids":
            items = [some(rng.choice(["BABY", "TOY"]))]
        elif theme == "grocery":
            items = [some("GROCERY", rng.randint(1, 3)), some("DRINK", rng.randint(1, 2))]
        else:
            items = [(self.shoe_care.sku, 1)]
        for _ in range(rng.choice([0, 0, 1, 2])):
            items.append(some(rng.choice(["SNACK", "DRINK", "CLEAN", "COFFEE", "HAIR"])))
        merged = {}
        for text, quantity in items:
            merged[text] = merged.get(text, 0) + quantity
        return list(merged.items())

    def usable_coupons(self, member, when):
        rows = Coupon.objects.filter(
            member=member, status=CouponStatus.ISSUED, valid_from__lte=when, valid_until__gt=when
        ).select_related("template")
        return list(rows.order_by("valid_until", "pk"))

    def buyer(self, anonymous):
        """None (no card), else a card: often one whose member was given coupons, else any card holder."""
        if anonymous or not self.holders:
            return None
        if self.coupon_cards and self.rng.random() < 0.45:
            return self.rng.choice(list(self.coupon_cards.values()))
        return self.rng.choice(self.holders)

    def sale(self, when, number, anonymous):
        rng = self.rng
        card = self.buyer(anonymous)
        if card is not None:
            home = next((s for s in self.stores if s.pk == card.issued_store_id), None)
            store = home if home is not None and rng.random() < 0.8 else rng.choice(self.stores)
        else:
            store = rng.choice(self.stores)
        local = when.astimezone(SHANGHAI)
        if local.date() >= self.flash_from and rng.random() < 0.12:
            theme = "flash"  # the flash sale draws a crowd while it lasts
        else:
            theme = rng.choices([t[0] for t in THEMES], weights=[t[1] for t in THEMES])[0]
        items = self.basket(theme, local)
        codes = []
        if card is not None and card.member_id in self.coupon_members and rng.random() < 0.55:
            held = self.usable_coupons(card.member, when)
            for coupon in held[: rng.choice([1, 1, 2])]:
                codes.append(coupon.code)
                if coupon.template.kind == CouponKind.COUNT:
                    items.append((self.shoe_care.sku, 1))
                elif coupon.template.kind == CouponKind.GIFT:  # the member orders the coffee it pays for
                    items.append((self.coffee.sku, 1))
        elif card is None and theme == "cafe" and self.bearer_codes and rng.random() < 0.5:
            codes.append(self.bearer_codes.pop())
        quoted = self.till.quote(self.merchant, store, card, items, codes, at=when)
        tenders = self.tenders(card, store, quoted, number)
        sale = self.till.checkout(
            self.actor(store),
            store=store,
            card=card,
            items=items,
            coupon_codes=quoted.quote.coupons_applied,
            tenders=tenders,
            business_ref=f"DEMO-{timezone.localdate(when, SHANGHAI):%Y%m%d}-{number:04d}",
            at=when,
        )
        self.summary.sales += 1
        self.summary.coupons_used += len(sale.coupons)
        self.summary.with_promotions += bool(sale.promotions)
        self.summary.tenders.update(tenders.keys())
        if number % RETURN_EVERY == 0:
            later = when + datetime.timedelta(days=rng.randint(1, 6), hours=rng.randint(0, 4))
            if later >= self.end:  # a sale of the last days comes back the same day
                later = when + datetime.timedelta(minutes=30)
            self.at(later, self.give_back, sale)

    def tenders(self, card, store, quoted, number) -> dict:
        """Some points now and then, stored value at the card's own store, the rest paid another way."""
        rng, merchant_id = self.rng, self.merchant.pk
        tenders, rest = {}, quoted.total_due
        if card is not None and quoted.max_points >= 500 and rng.random() < 0.3:
            wanted = min(quoted.max_points, rng.choice([200, 500, 1000, 2000])) // 100 * 100
            cash = points.points_to_cash(merchant_id, wanted) if wanted else 0
            if cash and cash <= rest and points.cash_to_points(merchant_id, cash) == wanted:
                tenders["points"] = wanted
                rest -= cash
        at_home = card is not None and store.pk == card.issued_store_id
        if at_home and quoted.max_stored_value and rest and rng.random() < 0.75:
            paid = min(quoted.max_stored_value, rest)
            if number % 4 == 0:  # part stored value, the rest another way
                paid //= 2
            if paid > 0:
                tenders["stored_value"] = paid
                rest -= paid
        if rest:
            kinds, weights = zip(*EXTERNAL_TENDERS, strict=True)
            tenders[rng.choices(kinds, weights=weights)[0]] = rest
        return tenders

    def give_back(self, when, sale):
        lines = list(sale.lines.filter(gift=False).order_by("pk"))
        part = None
        if len(lines) > 1 and self.rng.random() < 0.5:
            part = {lines[0].pk: lines[0].quantity}
        self.till.return_sale(
            self.actor(sale.store),
            sale,
            store=sale.store,
            lines=part,
            reason="顾客退货" if part else "整单退货",
        )
        self.summary.returns += 1

    def schedule_sales(self, count, holders):
        """`count` sales over the period, busier at weekends, 10:00–21:30 Shanghai time, before `end`."""
        rng = self.rng
        self.holders = holders
        for card in holders:
            self.card_of.setdefault(card.member_id, card)
        weights = [14 if self.day(n).isoweekday() >= 6 else 10 for n in range(self.days)]
        for number in range(1, count + 1):
            day = self.day(rng.choices(range(self.days), weights=weights)[0])
            opening = datetime.timedelta(minutes=rng.randrange(11 * 60 + 30), seconds=rng.randrange(60))
            when = _local(day, 10) + opening
            if when < self.end:
                self.at(when, self.sale, number, rng.random() < ANONYMOUS_SHARE)


def _till_demo_card():
    """The number of the card loyalty/demo.py keeps for the till demo: the first card of the first store."""
    return card_number(STORED_VALUE_PREFIX, 1, 8)


def seed_promotions(merchant, *, till, sales=SALES, seed=DEFAULT_SEED, now=None, progress=None):
    """Catalogue, promotions, coupon templates and coupons, then `sales` checkouts over the last 60 days.

    Needs the loyalty demo's tiers and cards. `till` rings up the sales: quote, checkout and return_sale
    as sales.checkout and sales.returns have them (the caller hands them in). `progress(done_days, days)` after each simulated
    day. Returns a DemoPromotions summary.
    """
    started = time.monotonic()
    summary = DemoPromotions()
    rng = random.Random(seed)  # noqa: S311 - seeded sample data, not a secret
    end = now or timezone.now()
    first_day = (end - datetime.timedelta(days=DAYS)).astimezone(SHANGHAI).date()
    tiers = list(Tier.objects.filter(merchant=merchant).order_by("rank"))
    holders = list(
        Card.objects.filter(merchant=merchant, status=CardStatus.ACTIVE, member__isnull=False)
        .exclude(number=_till_demo_card())
        .select_related("member__home_store", "product")
        .order_by("pk")
    )
    card_members = list({card.member_id: card.member for card in holders}.values())
    joiners = list(
        Member.objects.filter(merchant=merchant, created_at__gte=end - datetime.timedelta(days=DAYS))
        .select_related("home_store")
        .order_by("created_at", "pk")
    )
    # One transaction (module docstring).
    with moved_now(_local(first_day - datetime.timedelta(days=1), 9)) as clock, transaction.atomic():
        demo = _Demo(merchant, rng, clock, first_day, end, summary, till)
        demo.setup(tiers)
        demo.schedule_sales(sales, holders)
        demo.schedule_coupons(card_members, joiners)
        for n in range(demo.days + 1):
            demo.run_until(min(_local(demo.day(n + 1), 0), end))
            if progress is not None:
                progress(n + 1, demo.days + 1)
        clock.set(end)
        coupons.expire_coupons(end)
    summary.seconds = time.monotonic() - started
    return summary
