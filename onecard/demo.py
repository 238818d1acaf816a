"""`onecard seed-demo` in order: the chain, its members, cards and a year of ledger, then catalogue,
promotions and sales.

Each app builds its own part in its demo.py; this module only calls them in order, reports progress and
hands each the pieces of higher apps it needs (the job schedule to the ledger history, the till's checkout
to the sales), which is why it lives above the apps.
"""

import sys
import time
from types import SimpleNamespace

from django.db import transaction

from onecard import jobs
from onecard.analytics import facts, page_counts, scoring
from onecard.analytics.value import services as clv_services
from onecard.catalog.models import Product
from onecard.core import audit
from onecard.core.demo_logins import DEMO_LOGINS, DEMO_PASSWORD, DEMO_TILL_PIN, DEMO_TOTP_SECRET
from onecard.core.errors import BusinessError
from onecard.loyalty.demo import seed_loyalty
from onecard.loyalty.models import CardProduct
from onecard.members.demo import BIG_LOAD, analyze_tables, bulk_load, seed_members
from onecard.members.models import Member
from onecard.org.demo import build_demo_chain, demo_merchant
from onecard.org.models import Staff
from onecard.org.queries import is_demo_install, real_merchants
from onecard.promotions.demo import DAYS, seed_promotions
from onecard.sales import checkout, demo_history, returns
from onecard.sales.backfill import record_earlier_payments
from onecard.sales.invoicing import record_missing_facts

# What the promotions demo rings its sales up with, as a till does (promotions sit below sales).
TILL = SimpleNamespace(quote=checkout.quote, checkout=checkout.checkout, return_sale=returns.return_sale)


class RealMerchantsPresent(Exception):
    """seed-demo was asked to run on a database that holds merchants it did not build (real data)."""

    def __init__(self, names):
        self.names = names
        super().__init__(
            f"This database holds merchants that seed-demo did not create ({', '.join(names)}): it looks like "
            "real data. seed-demo refuses to add the demo next to it (the demo's logins are published). "
            "To add the demo merchant anyway, run it again with --force-next-to-real-data: no superuser is "
            "made and the demo logins get random passwords, printed once."
        )


def seed_demo(
    out, style, *, members, batch, cards, history_days, sales, history_lines=0, next_to_real_data=False
):
    """Build whatever part of the demo is missing, reporting to `out` (a command's stdout).

    Refuses (RealMerchantsPresent, before writing anything) when real merchants exist, unless
    `next_to_real_data`; then it warns, and the demo's logins get passwords nobody can read in the README.
    """
    real = list(real_merchants().values_list("name", flat=True)[:6])
    if real and not next_to_real_data:
        raise RealMerchantsPresent(real[:5] + (["…"] if len(real) > 5 else []))
    if real:
        out.write(
            style.WARNING(
                "WARNING: adding the demo merchant next to real merchants, as --force-next-to-real-data asks. "
                "Its members, cards and sales are made up; no superuser is made; the demo logins get random "
                "passwords, printed once below."
            )
        )
    started = time.monotonic()
    merchant = demo_merchant()
    if merchant is None:
        merchant, stores, _staff, passwords = build_demo_chain(next_to_real_data=bool(real))
        out.write(f"demo chain created: {merchant.name}, {len(stores)} stores")
        if passwords:
            _print_once(out, style, passwords)
    else:
        stores = list(merchant.nodes.filter(kind="store").order_by("id"))
    existing = Member.objects.filter(merchant=merchant).count()
    wanted = max(members - existing, 0)
    if wanted == 0:
        out.write(f"demo members already present: {existing:,}")
    else:
        _seed_members(out, style, merchant, stores, existing, wanted, batch, started)
    _seed_ledger(out, style, merchant, cards, history_days)
    _seed_promotions(out, style, merchant, sales)
    # The ledger history charges through loyalty alone (loyalty sits below sales): give those
    # payments their sales, as the till would have recorded them.
    record_earlier_payments()
    record_missing_facts()  # and those sales their invoice facts
    rebuilt = seed_purchase_history(out, style, merchant, stores, history_lines) if history_lines else False
    _seed_analytics(out, merchant, rebuilt=rebuilt)


def _seed_analytics(out, merchant, *, rebuilt=False):
    """The members' facts counted again from every sale (the backfilled ones sent no signal), then scored."""
    if not rebuilt:
        counted = facts.rebuild(merchant=merchant)
        out.write(f"analytics: {counted.members:,} buyers' facts counted")
    scored = scoring.score_merchant(merchant)
    page_counts.refresh(merchant)
    out.write(f"analytics: {scored.members:,} members scored, the pages' counts taken")
    try:
        fit = clv_services.fit_merchant(merchant)
    except BusinessError as refusal:  # a small demo may have too few repeat buyers to fit
        out.write(f"lifetime value not fitted: {refusal.message}")
    else:
        out.write(f"lifetime value fitted over {fit.members:,} buyers")


def seed_purchase_history(out, style, merchant, stores, lines) -> bool:
    """Top the demo purchase history up to `lines` sale lines (sales/demo_history.py), then rebuild the facts.

    True when it rebuilt the facts.
    """
    have = demo_history.history_lines(merchant)
    if have >= lines:
        out.write(f"demo purchase history already present: {have:,} sale lines")
        return False
    started = time.monotonic()
    bar = ProgressBar(out, lines - have, "history sale lines")
    made = demo_history.seed_history(merchant, stores, lines - have, progress=bar.update)
    bar.finish()
    if not made:
        out.write("demo purchase history skipped: it needs the demo members and catalogue")
        return False
    out.write(
        f"demo purchase history: {made:,} sales, {lines - have:,} lines in {time.monotonic() - started:.1f} s"
    )
    demo_history.analyze()
    rebuilt = time.monotonic()
    counts = facts.rebuild(merchant=merchant)
    demo_history.analyze()
    out.write(
        style.SUCCESS(
            f"member facts rebuilt in {time.monotonic() - rebuilt:.1f} s: {counts.members:,} members, "
            f"{counts.months:,} months, {counts.stores:,} stores, {counts.products:,} products"
        )
    )
    return True


def _print_once(out, style, passwords):
    """The random passwords of the demo logins next to real data: shown now and stored nowhere else."""
    out.write(
        style.WARNING("Demo logins (these passwords are shown only now; write them down or reset them):")
    )
    roles = dict(DEMO_LOGINS)
    for username, password in passwords.items():
        out.write(f"  {username:<16} {password:<20} {roles.get(username, '')}")


def print_demo_logins(out):
    """The demo logins with the published password and authenticator key, on a demo install only (no real
    merchant)."""
    if not is_demo_install():
        return
    out.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
    for username, role in DEMO_LOGINS:
        out.write(f"  {username:<16} {role}")
    out.write(
        "Two-step verification (admin, hq, east, manager, marketer): the code from an authenticator app\n"
        f"  with the key {DEMO_TOTP_SECRET}, or run: .venv/bin/onecard demo-code\n"
        f"Quick cashier switch at the till (换人): cashier, cashier2 and every store's cashiers, till PIN {DEMO_TILL_PIN}"
    )


def _seed_members(out, style, merchant, stores, existing, wanted, batch, started):
    """`wanted` more members, owned by the stores' staff, with one audit row for the lot (members/demo.py)."""
    owners_by_store = {}
    for staff in Staff.objects.filter(node__in=stores, is_active=True).order_by("id"):
        owners_by_store.setdefault(staff.node_id, []).append(staff)
    bar = ProgressBar(out, wanted, "members")
    options = {"progress": bar.update, "start_index": existing, "batch": batch}
    if wanted >= BIG_LOAD:
        # One transaction: the secondary indexes go, the rows go in, the indexes are built again by
        # sorting (far quicker than a million random index inserts); a failure leaves nothing behind.
        with transaction.atomic(), bulk_load(out):
            seed_members(merchant, stores, owners_by_store, wanted, commit=False, **options)
            bar.finish()
    else:
        seed_members(merchant, stores, owners_by_store, wanted, **options)
    bar.finish()
    with transaction.atomic():
        audit.record(
            None,
            "import",
            subject_type="members.member",
            subject_repr=f"demo members × {wanted}",
            merchant=merchant,
            note="onecard seed-demo",
        )
    if wanted >= BIG_LOAD:
        analyze_tables()
    out.write(
        style.SUCCESS(
            f"{wanted:,} demo members created in {time.monotonic() - started:.1f} s "
            f"({existing + wanted:,} in all)"
        )
    )


def _seed_ledger(out, style, merchant, holders, days):
    """First run only: card products, tiers, rules, cards and `days` of history (loyalty/demo.py)."""
    if holders == 0:
        return
    if CardProduct.objects.filter(merchant=merchant).exists():
        out.write("demo cards and ledger history already present")
        return
    bar = ProgressBar(out, days + 1, "days of ledger history")
    summary = seed_loyalty(merchant, holders=holders, days=days, progress=bar.update, run_jobs=jobs.run_jobs)
    bar.finish()
    done = ", ".join(f"{name} {count:,}" for name, count in sorted(summary.operations.items()))
    out.write(f"demo ledger: {summary.cards:,} cards; {done}")
    if summary.refused:
        refused = ", ".join(f"{code} {count:,}" for code, count in sorted(summary.refused.items()))
        out.write(f"refused along the way, as a real till would: {refused}")
    tiers = ", ".join(f"{name} {count:,}" for name, count in summary.tier_counts.items())
    out.write(f"tiers: {tiers}")
    out.write(style.SUCCESS(f"demo ledger history built in {summary.seconds:.1f} s"))
    if summary.easy_card:
        balance = summary.easy_card_balance
        password = DEMO_PASSWORD if is_demo_install() else "(the password printed above)"
        out.write(
            f"Demo card for the till (/till/): {summary.easy_card} ({summary.easy_card_member}, "
            f"¥{balance // 100:,}.{balance % 100:02d}); log in as cashier / {password}"
        )


def _seed_promotions(out, style, merchant, sales):
    """First run only: catalogue, promotions, coupons and `sales` checkouts using them (promotions/demo.py)."""
    if Product.objects.filter(merchant=merchant).exists():
        out.write("demo catalogue, promotions and sales already present")
        return
    if not CardProduct.objects.filter(merchant=merchant).exists():
        out.write("demo catalogue, promotions and sales skipped: they need the demo cards (--cards)")
        return
    bar = ProgressBar(out, DAYS + 1, "days of sales")
    summary = seed_promotions(merchant, sales=sales, progress=bar.update, till=TILL)
    bar.finish()
    out.write(
        f"demo catalogue: {summary.products} products in {summary.categories} categories; "
        f"{summary.promotions} promotions; {summary.templates} coupon templates, {summary.coupons} coupons issued"
    )
    tenders = ", ".join(f"{kind} {count}" for kind, count in sorted(summary.tenders.items()))
    out.write(
        f"demo sales: {summary.sales} ({summary.with_promotions} with promotions, {summary.coupons_used} "
        f"coupons used; tenders: {tenders}), {summary.returns} returns"
    )
    if summary.refused:
        refused = ", ".join(f"{code} {count}" for code, count in sorted(summary.refused.items()))
        out.write(f"refused along the way, as a real till would: {refused}")
    out.write(style.SUCCESS(f"demo promotions and sales built in {summary.seconds:.1f} s"))


class ProgressBar:
    """A one-line progress bar with rate and time left, redrawn in place on a terminal."""

    def __init__(self, out, total, unit):
        self.out, self.total, self.unit = out, max(total, 1), unit
        self.started = time.monotonic()
        self.tty = sys.stdout.isatty()
        self.last_line = 0.0

    def update(self, done, _total=None):
        now = time.monotonic()
        if not self.tty and now - self.last_line < 5 and done < self.total:
            return
        self.last_line = now
        elapsed = max(now - self.started, 1e-6)
        rate = done / elapsed
        left = (self.total - done) / rate if rate else 0
        filled = int(30 * done / self.total)
        line = (
            f"[{'#' * filled}{'.' * (30 - filled)}] {done:,}/{self.total:,} {self.unit} "
            f"{rate:,.0f}/s, {left:,.0f} s left"
        )
        self.out.write(("\r" + line) if self.tty else line, ending="" if self.tty else "\n")
        self.out.flush()

    def finish(self):
        if self.tty:
            self.out.write("")
