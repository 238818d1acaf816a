"""Generated sales, top-ups, charges, points, members and classes for the dashboard tests (fixed seed).

Spread over the last 40 days (so some lie before a 30-day period and move the liability's opening balance),
at the three acme stores and at the other merchant's store (which no acme dashboard may count), with a few
sales made moments ago (the day not over yet has figures of its own) and a few imported ones (not takings).
"""

import datetime
import random
from types import SimpleNamespace

from django.db import connection
from django.utils import timezone

from onecard.analytics.choices import LifeStage, RfmClass
from onecard.analytics.models import MemberFacts
from onecard.catalog import services as catalog
from onecard.loyalty.models import CardTransaction, MemberTier, Tier
from onecard.loyalty.points import services as points
from onecard.loyalty.stored_value import services as stored_value
from onecard.members.models import Member
from onecard.sales.models import Sale, SaleKind, SaleLine, SaleTender, TenderKind
from onecard.testing.cards import active_card, make_product, stock

SEED = 7
MONEY_KINDS = [SaleKind.CHECKOUT, SaleKind.CHARGE, SaleKind.CAPTURE, SaleKind.PACKAGE_USE]
IMPORTED = "imported"  # the historical import's kind (sales.import): history, not takings


def _moment(rng, now, days=40):
    return now - datetime.timedelta(seconds=rng.randint(60, days * 86400))


def _backdate_entry(entry_id, moment):
    """Journal entries refuse ORM updates (the ledger is append-only): test data is moved in SQL."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE loyalty_journalentry SET created_at = %s WHERE id = %s", [moment, entry_id])


def _catalogue(chain):
    drinks = catalog.create_category(None, chain.merchant, name="饮品")
    cakes = catalog.create_category(None, chain.merchant, name="蛋糕")
    specs = [
        ("TEA", "乌龙茶", drinks),
        ("COF", "咖啡", drinks),
        ("CAK", "芝士蛋糕", cakes),
        ("BRD", "面包", None),
    ]
    return [
        catalog.create_product(None, chain.merchant, sku=sku, name=name, list_price=1000, category=category)
        for sku, name, category in specs
    ]


def _members(chain, member_factory, rng, now):
    stores = [chain.a1, chain.a1, chain.a2, chain.b1, chain.b1, chain.a2, chain.a1, chain.b1]
    members = [member_factory(store=store, name=f"会员{i}") for i, store in enumerate(stores)]
    for member in members:
        Member.objects.filter(pk=member.pk).update(created_at=_moment(rng, now, days=400))
    silver = Tier.objects.create(merchant=chain.merchant, name="银卡", rank=1)
    gold = Tier.objects.create(merchant=chain.merchant, name="金卡", rank=2)
    classes = list(RfmClass.values) + [""]
    for i, member in enumerate(members):
        MemberFacts.objects.create(
            member=member,
            merchant=chain.merchant,
            rfm_class=rng.choice(classes),
            life_stage=rng.choice(LifeStage.values),
        )
        if i % 3:
            MemberTier.objects.create(
                member=member, merchant=chain.merchant, tier=gold if i % 3 == 2 else silver, since=now.date()
            )
    return members


def _cards(chain, members, rng, now):
    """A stored-value card issued at each store, top-ups, charges and points, moved back in time."""
    product = make_product(chain, name="储值卡 dash")
    issued = [(chain.a1, "7101", members[0]), (chain.a2, "7102", members[2]), (chain.b1, "7103", members[3])]
    cards = [
        active_card(stock(product, store, count=1, prefix=prefix)[0], member)
        for store, prefix, member in issued
    ]
    actors = {chain.a1.pk: chain.cashier_a1, chain.a2.pk: None, chain.b1.pk: chain.cashier_b1}
    moves = []
    for card in cards:
        store = card.issued_store
        for _n in range(5):
            moves.append(stored_value.topup(actors[store.pk], card, rng.randint(5, 50) * 1000, store=store))
        for _n in range(3):
            moves.append(stored_value.charge(actors[store.pk], card, rng.randint(1, 40) * 100, store=store))
        for _n in range(3):
            lot = points.earn(None, card, rng.randint(10, 300), store=store, reason="test")
            _backdate_entry(lot.entry_id, _moment(rng, now))
    for move in moves:
        moment = _moment(rng, now)
        CardTransaction.objects.filter(pk=move.pk).update(created_at=moment)
        _backdate_entry(move.entry_id, moment)
    return cards


def _sale_rows(chain, members, rng, now, count):
    stores = [chain.a1, chain.a2, chain.b1, chain.other_store]
    staff = {
        chain.a1.pk: [chain.cashier_a1, chain.store_manager],
        chain.a2.pk: [chain.region_manager],
        chain.b1.pk: [chain.cashier_b1],
        chain.other_store.pk: [chain.other_manager],
    }
    sales, moments = [], []
    for n in range(count):
        store = rng.choice(stores)
        total = rng.randint(1, 300) * 100
        returned = rng.choice([0, 0, 0, total, total // 3])
        merchant = store.merchant
        member = rng.choice(members) if merchant == chain.merchant and rng.random() < 0.7 else None
        sales.append(
            Sale(
                kind=IMPORTED if n % 40 == 5 else rng.choice(MONEY_KINDS), merchant=merchant, store=store, member=member,
                actor=rng.choice(staff[store.pk]), business_ref=f"T{n:04d}", list_total=total, discount_total=0,
                total_due=total, returned_due=returned,
            )
        )  # fmt: skip
        # The last few were made moments ago: the day not over yet has its own figures.
        moments.append(now - datetime.timedelta(seconds=n + 1) if n >= count - 4 else _moment(rng, now))
    return sales, moments


def _lines_and_tenders(sales, products, rng):
    lines, tenders = [], []
    for sale in sales:
        first = sale.total_due // 2
        for due, returned in (
            (first, sale.returned_due // 2),
            (sale.total_due - first, sale.returned_due - sale.returned_due // 2),
        ):
            quantity = rng.randint(1, 4)
            product = rng.choice(products) if sale.merchant_id == products[0].merchant_id else None
            lines.append(
                SaleLine(
                    sale=sale, key=str(len(lines)), product=product, sku=product.sku if product else "",
                    name=product.name if product else "x", quantity=quantity, list_total=due, due=due,
                    returned_quantity=quantity if returned == due and due else 0, returned_due=returned,
                )
            )  # fmt: skip
        kinds = rng.sample(list(TenderKind.values), 2)
        split = rng.randint(0, sale.total_due)
        back = min(sale.returned_due, split)
        tenders.append(SaleTender(sale=sale, kind=kinds[0], amount=split, returned_amount=back))
        tenders.append(
            SaleTender(
                sale=sale,
                kind=kinds[1],
                amount=sale.total_due - split,
                returned_amount=sale.returned_due - back,
            )
        )
    return lines, tenders


def generate(chain, member_factory, *, count=160):
    """The whole data set; returns what the tests look at (`now`: the moment it was made)."""
    rng = random.Random(SEED)
    now = timezone.now()
    products = _catalogue(chain)
    members = _members(chain, member_factory, rng, now)
    cards = _cards(chain, members, rng, now)
    sales, moments = _sale_rows(chain, members, rng, now, count)
    Sale.objects.bulk_create(sales)
    for sale, moment in zip(sales, moments, strict=True):  # created_at is auto_now_add: set it after
        Sale.objects.filter(pk=sale.pk).update(created_at=moment)
    lines, tenders = _lines_and_tenders(sales, products, rng)
    SaleLine.objects.bulk_create(lines)
    SaleTender.objects.bulk_create(tenders)
    return SimpleNamespace(now=now, products=products, members=members, cards=cards)
