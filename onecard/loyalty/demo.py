"""Demo loyalty data for `onecard seed-demo`: products, tiers, rules, cards and a year of history.

Everything goes through the same services as the till and the management pages (create_product,
create_tier, create_bonus_rule, rule_settings, issue_batch, bind_to_member, activate, topup,
charge, refund, refund_topup, hold/capture/void, points.earn_for_spend and redeem, the daily
jobs), so the demo journal is a journal the real code could have written, and `onecard ledger
verify` passes on it. The history is posted at past times by moving "now" (core/clock.py): the
hash chain, `created_at`, hold expiries and points lot dates all carry the past time.

The year is simulated day by day, one transaction per day: at 03:10 the daily expiry jobs run
(holds, points, cards), then the day's visits in time order. Each card holder has an activity
level (dormant, casual, regular, VIP) that sets how often they come and how much they spend;
a visit tops up when the balance runs short, charges (earning points by the earn rules), now and
then redeems points, and a few sales are later refunded in full or in part, a few holds are
captured or voided (or left to expire). At the end the tier evaluation runs once, for today.

Deterministic: one `random.Random(seed)` drives every choice and events run in a fixed order, so
the same members and the same `now` give the same history (the history is laid out backwards from
`now`, so a run on another day differs). Amounts are integer fen drawn from integer ranges.

Size: seed-demo must stay well under a minute on SQLite. A charge through the services (with its
points earning) costs about 10 ms of CPU there, so the year holds about 2,000 top-ups, charges and
points operations besides the 1,500 cards' binding and activation (~35 s in all, measured); raise
SEGMENTS' visits for a busier year.
"""

import datetime
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from onecard.core.clock import moved_now
from onecard.core.errors import BusinessError
from onecard.loyalty.cards import products as card_products
from onecard.loyalty.cards import services as cards
from onecard.loyalty.cards.choices import CardKind, TierMetric
from onecard.loyalty.models import Card, MemberTier, SettlementStatement
from onecard.loyalty.models.points import ExpiryMode
from onecard.loyalty.models.stored_value import ConsumptionOrder
from onecard.loyalty.points import services as points
from onecard.loyalty.settlement import services as settlement
from onecard.loyalty.stored_value import holds, rule_settings
from onecard.loyalty.stored_value import services as stored_value
from onecard.loyalty.tiers import services as tiers
from onecard.loyalty.tiers.metrics import evaluate_merchant
from onecard.members.choices import MemberStatus
from onecard.members.models import Member
from onecard.org.demo import DemoTimeline

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_SEED = 20261125

STORED_VALUE_PREFIX = "8888"  # 8888 + 8-digit serial + Luhn digit: 13 digits
POINTS_PREFIX = "6666"
GIFT_PREFIX = "9999"
SERIALS_PER_STORE = 100_000  # store i's batch starts at serial i × 100,000 + 1 (the first store's is 1)
SPARE_CARDS = 20  # per store, left in stock for the till's "issue a card" demo

BONUS_TIERS = [[50_000, 5_000], [100_000, 15_000], [200_000, 40_000]]  # 充500送50, 充1000送150, 充2000送400
# (name, discount rate, points multiplier, benefits, grace days, rules) of the tiers above the base one
UPPER_TIERS = [
    ("银卡", "0.98", "1.2", "98折，积分1.2倍", 30,
     [(TierMetric.SPEND, 80_000, 365), (TierMetric.TOPUP, 100_000, 365), (TierMetric.VISITS, 4, 90)]),
    ("金卡", "0.95", "1.5", "95折，积分1.5倍，免费停车", 30,
     [(TierMetric.SPEND, 200_000, 365), (TierMetric.TOPUP, 300_000, 365)]),
    ("钻石卡", "0.90", "2", "9折，积分2倍，专属顾问", 60,
     [(TierMetric.SPEND, 400_000, 365), (TierMetric.POINTS_EARNED, 4_000, 365)]),
]  # fmt: skip
TOPUP_CHOICES = [(20_000, 3), (30_000, 2), (50_000, 5), (100_000, 3), (200_000, 1)]  # (fen, weight)
# (name, share of card holders, visits a year, spend factor in tenths), scaled to the time budget (module doc).
SEGMENTS = [("dormant", 30, 0, 8), ("casual", 45, 1, 10), ("regular", 18, 3, 14), ("vip", 7, 8, 25)]
# (lowest yuan, highest yuan, weight) of a sale's list price
PRICE_BANDS = [(20, 80, 5), (80, 200, 4), (200, 600, 2), (600, 1500, 1)]
DAILY_JOBS = [
    "expire_holds",
    "expire_points",
    "expire_cards",
    "expire_packages",
    "build_daily_statements",
    "build_monthly_statements",
]


@dataclass
class DemoLedger:
    """What the seed made: counts per kind of operation, the easy card for the README, timings."""

    products: int = 0
    tiers: int = 0
    cards: int = 0
    operations: Counter = field(default_factory=Counter)
    refused: Counter = field(default_factory=Counter)
    tier_counts: dict = field(default_factory=dict)
    easy_card: str = ""
    easy_card_member: str = ""
    easy_card_balance: int = 0
    seconds: float = 0.0


@dataclass
class _Holder:
    """The simulation's view of one card: who holds it, how active they are, what it can still spend."""

    index: int
    card: Card
    member: object
    kind: str
    home_store: object
    segment: tuple
    balance: int = 0  # principal + bonus available (a lower bound while holds wait for the expiry job)


# ---- configuration ------------------------------------------------------------------------------------------


def _configure(merchant, stores, start):
    """Products, settings, tiers, bonus rule, points policy and earn rules, as head office would set them up."""
    stored = card_products.create_product(None, merchant, name="储值卡", kind=CardKind.STORED_VALUE)
    rule_settings.set_consumption_order(None, stored, ConsumptionOrder.PRINCIPAL_FIRST)
    points_card = card_products.create_product(None, merchant, name="积分卡", kind=CardKind.POINTS)
    gift = card_products.create_product(
        None,
        merchant,
        name="礼品卡（不记名）",
        kind=CardKind.STORED_VALUE,
        registered=False,
        validity_days=1096,
    )
    ladder = [tiers.create_tier(None, merchant, name="普通会员", rank=0, benefits="会员价，生日双倍积分")]
    for rank, (name, rate, multiplier, benefits, grace_days, rules) in enumerate(UPPER_TIERS, start=1):
        ladder.append(
            tiers.create_tier(
                None,
                merchant,
                name=name,
                rank=rank,
                discount_rate=Decimal(rate),
                points_multiplier=Decimal(multiplier),
                benefits=benefits,
                review_period_days=365,
                grace_days=grace_days,
                rules=rules,
            )
        )
    stored_value.create_bonus_rule(None, merchant, name="充值有礼", tiers=BONUS_TIERS, valid_from=start)
    rule_settings.set_points_policy(
        None, merchant, expiry_mode=ExpiryMode.YEAR_END, expiry_days=365, points_per_yuan=100,
        cap_percent=Decimal(50),
    )  # fmt: skip
    rule_settings.create_earn_rule(
        None, merchant, name="消费1元积1分", points_per_yuan=Decimal(1), birthday_multiplier=Decimal(2)
    )
    flagship = stores[0]
    rule_settings.create_earn_rule(
        None, merchant, name=f"{flagship.name}周三双倍积分", points_per_yuan=Decimal(2), stores=[flagship],
        weekdays="3", birthday_multiplier=Decimal(2), priority=10,
    )  # fmt: skip
    return stored, points_card, gift, ladder


def _issue_stock(stored, points_card, gift, stores, wanted):
    """One stored-value batch per store (and a points batch where points cards are wanted); gift cards at the flagship."""
    stock = {}
    for i, store in enumerate(stores):
        need_sv, need_points = wanted.get(store.pk, (0, 0))
        first = i * SERIALS_PER_STORE + 1
        batch = card_products.issue_batch(
            None, stored, store=store, prefix=STORED_VALUE_PREFIX, start=first, count=need_sv + SPARE_CARDS,
            note="示范数据",
        )  # fmt: skip
        sv_cards = list(Card.objects.filter(batch=batch).order_by("number"))
        points_cards = []
        if need_points:
            batch = card_products.issue_batch(
                None,
                points_card,
                store=store,
                prefix=POINTS_PREFIX,
                start=first,
                count=need_points,
                note="示范数据",
            )
            points_cards = list(Card.objects.filter(batch=batch).order_by("number"))
        stock[store.pk] = (sv_cards, points_cards)
    card_products.issue_batch(
        None, gift, store=stores[0], prefix=GIFT_PREFIX, start=1, count=50, note="示范数据"
    )
    return stock


# ---- the simulation ----------------------------------------------------------------------------------------


class _Simulation(DemoTimeline):
    """The year's events (visits, top-ups, sales, holds and their follow-ups) on the demo timeline."""

    def __init__(self, rng, clock, stores, bonus_rule, summary):
        super().__init__(rng, clock, stores, summary)
        self.bonus_rule = bonus_rule
        self.waiting_for_expiry = []  # (expires_at, holder, amount) of holds left to the expiry job

    def released_by_job(self, now):
        """The holds the expiry job released at `now` give their amount back to the simulated balance."""
        keep = []
        for expires_at, holder, amount in self.waiting_for_expiry:
            if expires_at <= now:
                holder.balance += amount
            else:
                keep.append((expires_at, holder, amount))
        self.waiting_for_expiry = keep

    # -- helpers
    def visit_store(self, holder):
        return holder.home_store if self.rng.random() < 0.85 else self.rng.choice(self.stores)

    def price(self, holder):
        lo, hi, _w = self.rng.choices(PRICE_BANDS, weights=[b[2] for b in PRICE_BANDS])[0]
        jiao = self.rng.randint(lo * 10, hi * 10) * holder.segment[3] // 10
        return max(jiao, 10) * 10

    def topup_amount(self, holder, at_least=0):
        """A top-up the card's cap allows (balance + amount + bonus ≤ cap) and covering `at_least`; 0 if none."""
        cap = holder.card.product.effective_balance_cap
        choices = [
            (amount, weight)
            for amount, weight in TOPUP_CHOICES
            if amount >= at_least and holder.balance + amount + self.bonus_rule.bonus_for(amount) <= cap
        ]
        if not choices:
            return 0
        return self.rng.choices([c[0] for c in choices], weights=[c[1] for c in choices])[0]

    # -- actions (each one service call, at the clock's time)
    def join(self, when, holder):
        store = holder.home_store
        actor = self.actor(store)
        cards.bind_to_member(actor, holder.card, holder.member)
        cards.activate(actor, holder.card)
        self.summary.operations["card activated"] += 1
        if holder.kind == CardKind.STORED_VALUE and holder.segment[2]:  # dormant holders never top up
            self.topup(when, holder, store, self.topup_amount(holder, 50_000) or self.topup_amount(holder))

    def topup(self, when, holder, store, amount):
        if not amount:
            return None
        tx = stored_value.topup(self.actor(store), holder.card, amount, store=store)
        holder.balance += tx.amount + tx.bonus
        self.summary.operations["top-up"] += 1
        if self.rng.random() < 0.004:  # changed their mind: the principal goes back to their bank account
            self.at(when + datetime.timedelta(days=1, hours=1), self.refund_topup, holder, tx)
        return tx

    def top_up_for_demo(self, when, holder):
        """Yesterday's top-up of the README's card, when it holds less than ¥1,000."""
        if holder.balance < 100_000:
            self.topup(when, holder, holder.home_store, self.topup_amount(holder, 100_000))

    def refund_topup(self, when, holder, tx):
        if holder.balance < tx.principal + tx.bonus:
            return
        refund = stored_value.refund_topup(
            self.actor(tx.store), tx, store=tx.store, reason="顾客申请退还充值", method="bank"
        )
        holder.balance -= refund.amount + refund.bonus
        self.summary.operations["top-up refund"] += 1

    def visit(self, when, holder):
        store = self.visit_store(holder)
        if holder.kind == CardKind.POINTS:
            points.earn_for_spend(self.actor(store), holder.card, self.price(holder), store=store)
            self.summary.operations["points earned (paid in cash)"] += 1
        else:
            roll = self.rng.random()
            if roll < 0.03:
                self.start_hold(when, holder, store)
            else:
                self.sale(when, holder, store)
        if self.rng.random() < 0.08:
            self.redeem(holder, store)

    def sale(self, when, holder, store):
        amount = self.price(holder)
        if holder.balance < amount:
            self.topup(when, holder, store, self.topup_amount(holder, amount - holder.balance))
        if holder.balance < amount:
            amount = holder.balance // 100 * 100
            if amount < 1_000:
                return
        tx = stored_value.charge(self.actor(store), holder.card, amount, store=store)
        holder.balance -= tx.amount
        self.summary.operations["charge"] += 1
        if self.rng.random() < 0.04:
            later = when + datetime.timedelta(days=self.rng.randint(0, 10), hours=self.rng.randint(0, 3))
            part = None if self.rng.random() < 0.6 else max(tx.amount // 2, 1)
            self.at(later, self.refund, holder, tx, part)

    def refund(self, when, holder, tx, amount):
        refund = stored_value.refund(self.actor(tx.store), tx, amount, store=tx.store, reason="顾客退货")
        holder.balance += refund.amount
        self.summary.operations["refund" if amount is None else "partial refund"] += 1

    def start_hold(self, when, holder, store):
        amount = self.rng.randint(50, 300) * 100
        if holder.balance < amount:
            return
        row = holds.hold(self.actor(store), holder.card, amount, store=store)
        holder.balance -= row.amount
        self.summary.operations["hold"] += 1
        roll = self.rng.random()
        if roll < 0.7:
            captured = row.amount if self.rng.random() < 0.5 else row.amount * self.rng.randint(50, 99) // 100
            self.at(
                when + datetime.timedelta(minutes=self.rng.randint(5, 25)),
                self.capture,
                holder,
                row,
                captured,
            )
        elif roll < 0.9:
            self.at(when + datetime.timedelta(minutes=self.rng.randint(2, 20)), self.void, holder, row)
        else:  # left open: the expiry job releases it
            self.waiting_for_expiry.append((row.expires_at, holder, row.amount))

    def capture(self, when, holder, row, amount):
        tx = holds.capture(self.actor(row.store), row, amount, store=row.store)
        holder.balance += row.amount - tx.amount
        self.summary.operations["hold captured"] += 1

    def void(self, when, holder, row):
        holds.void(self.actor(row.store), row)
        holder.balance += row.amount
        self.summary.operations["hold voided"] += 1

    def redeem(self, holder, store):
        available = points.available_points(holder.card)
        if available < 1_000:
            return
        wanted = min(self.rng.choice([500, 1_000, 2_000, 5_000]), available // 100 * 100)
        points.redeem(self.actor(store), holder.card, wanted, store=store)
        self.summary.operations["points redeemed"] += 1


def _plan_visits(rng, join, end, segment):
    """The visit times of one holder between `join` and `end`: about segment-visits a year, in opening hours."""
    days = (end - join).days
    if days <= 0:
        return []
    count = sum(1 for _ in range(days) if rng.randrange(365) < segment[2])
    times = []
    for _ in range(count):
        day = (join + datetime.timedelta(days=rng.randrange(days))).astimezone(SHANGHAI).date()
        local = datetime.datetime.combine(day, datetime.time(10), tzinfo=SHANGHAI)
        times.append(
            local + datetime.timedelta(minutes=rng.randrange(11 * 60 + 30), seconds=rng.randrange(60))
        )
    return sorted(t for t in times if join < t < end)


def _opening_time(rng, day):
    """A random time on `day` between 10:00 and 21:00 in Asia/Shanghai."""
    local = datetime.datetime.combine(day, datetime.time(10), tzinfo=SHANGHAI)
    return local + datetime.timedelta(minutes=rng.randrange(11 * 60), seconds=rng.randrange(60))


def seed_loyalty(
    merchant, *, run_jobs, holders=1500, days=365, seed=DEFAULT_SEED, now=None, progress=None
) -> DemoLedger:
    """Build the demo merchant's loyalty set-up and `days` of history for `holders` card holders.

    `run_jobs(now, only=names)` runs the scheduled jobs each night (the project's `jobs.run_jobs`: the
    schedule sits above the apps, so the caller hands it in). `progress(done_days, days)` is called after
    each simulated day. Returns a DemoLedger summary.
    """
    started = time.monotonic()
    summary = DemoLedger()
    rng = random.Random(seed)  # noqa: S311 - seeded sample data, not a secret
    end = now or timezone.now()
    first_day = (end - datetime.timedelta(days=days)).astimezone(SHANGHAI).date()
    start = datetime.datetime.combine(first_day, datetime.time(9), tzinfo=SHANGHAI)
    stores = list(merchant.nodes.filter(kind="store").order_by("id"))
    plans, wanted = _plan_holders(rng, merchant, stores[0], holders)

    with moved_now(start) as clock:
        with transaction.atomic():
            stored, points_card, gift, ladder = _configure(merchant, stores, start)
            stock = _issue_stock(stored, points_card, gift, stores, wanted)
        summary.products, summary.tiers = 3, len(ladder)
        bonus_rule = stored_value.bonus_rule_for(merchant, stores[0], BONUS_TIERS[0][0], at=start)
        sim = _Simulation(rng, clock, stores, bonus_rule, summary)
        holders_made = _schedule_holders(sim, rng, plans, stock, stores, start=start, end=end, days=days)
        for n in range(days + 1):
            _simulate_day(sim, clock, run_jobs, first_day + datetime.timedelta(days=n), start=start, end=end)
            if progress is not None:
                progress(n + 1, days + 1)
        # Still on the moved clock: the settlement this posts belongs to the history, which ends at `end`
        # (on the real clock it landed seconds later, after `now`, whenever an old month was open).
        clock.set(end)
        _sum_up(summary, merchant, holders_made, timezone.localdate(end, SHANGHAI))
    summary.seconds = time.monotonic() - started
    return summary


def _plan_holders(rng, merchant, flagship, holders):
    """Which members get a card, of which kind and visit pattern: ([(member, kind, segment)], {store id:
    (stored-value cards, points cards)}). The first is the README's card, at the flagship store."""
    members = list(
        Member.objects.filter(merchant=merchant, status=MemberStatus.ACTIVE, merged_into__isnull=True)
        .select_related("home_store")
        .order_by("pk")
    )
    chosen = sorted(rng.sample(range(len(members)), min(holders, len(members))))
    # The README's card: the first chosen member homed at the flagship store gets its first card.
    easy = next((i for i in chosen if members[i].home_store_id == flagship.pk), None)
    if easy is not None:
        chosen.remove(easy)
        chosen.insert(0, easy)
    plans = []
    wanted = {}
    for position, i in enumerate(chosen):
        member = members[i]
        kind = CardKind.STORED_VALUE if position == 0 or rng.random() < 0.8 else CardKind.POINTS
        segment = (
            SEGMENTS[-1] if position == 0 else rng.choices(SEGMENTS, weights=[s[1] for s in SEGMENTS])[0]
        )
        sv, pts = wanted.get(member.home_store_id, (0, 0))
        wanted[member.home_store_id] = (sv + 1, pts) if kind == CardKind.STORED_VALUE else (sv, pts + 1)
        plans.append((member, kind, segment))
    return plans, wanted


def _schedule_holders(sim, rng, plans, stock, stores, *, start, end, days):
    """Hand each planned holder a card from their store's stock and queue their joining and visits."""
    taken = {store.pk: [0, 0] for store in stores}
    holders_made = []
    for index, (member, kind, segment) in enumerate(plans):
        store_stock = stock[member.home_store_id]
        slot = 0 if kind == CardKind.STORED_VALUE else 1
        card = store_stock[slot][taken[member.home_store_id][slot]]
        taken[member.home_store_id][slot] += 1
        holder = _Holder(index, card, member, kind, member.home_store, segment)
        holders_made.append(holder)
        # Cards are handed out over the first 40% of the year, never before the member joined.
        earliest = max(member.created_at, start)
        room = min(days * 2 // 5, (end - earliest).days)
        spread = 0 if index == 0 or room <= 0 else rng.randrange(room)
        join = _opening_time(rng, earliest.astimezone(SHANGHAI).date() + datetime.timedelta(days=spread))
        if join <= earliest:
            join = earliest + datetime.timedelta(minutes=30)
        if join >= end:
            continue
        sim.at(join, sim.join, holder)
        if index == 0:  # the README's card ends the year with money on it for the till demo
            sim.at(_opening_time(rng, (end - datetime.timedelta(days=1)).astimezone(SHANGHAI).date()),
                   sim.top_up_for_demo, holder)  # fmt: skip
        for when in _plan_visits(rng, join, end, segment):
            sim.at(when, sim.visit, holder)
    return holders_made


def _simulate_day(sim, clock, run_jobs, day, *, start, end):
    """One day in one transaction: the nightly jobs at 03:10, then the day's queued visits."""
    night = datetime.datetime.combine(day, datetime.time(3, 10), tzinfo=SHANGHAI)
    next_day = datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time(0), tzinfo=SHANGHAI)
    with transaction.atomic():
        if start <= night < end:
            clock.set(night)
            for result in run_jobs(night, only=DAILY_JOBS):
                if not result.ok:
                    raise RuntimeError(f"demo history: job {result.name} failed: {result.error}")
                if result.changed:
                    sim.summary.operations[f"changed by the daily job {result.name}"] += result.changed
            sim.released_by_job(night)
        sim.run_until(min(next_day, end))


def _sum_up(summary, merchant, holders_made, today):
    """After the year: settle old statements, evaluate tiers, and note the README's card."""
    summary.operations["settlement statements settled"] = _settle_old_months(merchant, today)
    evaluation = evaluate_merchant(merchant, today)
    summary.operations["members evaluated for tiers"] = evaluation.evaluated
    summary.tier_counts = _tier_counts(merchant)
    summary.cards = summary.operations["card activated"]
    if holders_made:
        card = holders_made[0].card
        summary.easy_card = card.number
        summary.easy_card_member = holders_made[0].member.name
        balances = cards.card_balances(card)
        summary.easy_card_balance = sum(balances.get(kind, 0) for kind in cards.STORED_VALUE_KINDS)


def _settle_old_months(merchant, today) -> int:
    """Head office has paid the store-to-store statements of every month before last (settlement.settle)."""
    last_month = (today.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)
    due = SettlementStatement.objects.filter(
        merchant_a=merchant, period_kind="month", status="open", period_start__lt=last_month
    ).order_by("period_start", "pk")
    settled = 0
    for statement in due:
        try:
            settlement.settle(None, statement)
        except BusinessError:  # e.g. a day of that month was settled already: leave it open
            continue
        settled += 1
    return settled


def _tier_counts(merchant) -> dict:
    rows = (
        MemberTier.objects.filter(merchant=merchant)
        .values("tier__name", "tier__rank")
        .annotate(n=Count("id"))
        .order_by("tier__rank")
    )
    return {row["tier__name"]: row["n"] for row in rows}
