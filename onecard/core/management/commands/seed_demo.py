"""`onecard seed-demo`: the demo chain with staff in every role and believable members."""

import sys
import time
from contextlib import contextmanager

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from onecard.core import audit


class Command(BaseCommand):
    help = "Build the demo chain (1 HQ, 3 regions, 12 stores, staff in every role) and its members."
    # Runs before the web pages exist (and on servers without them): no URL checks needed.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--members", type=int, default=5000, help="how many members (default 5,000)")
        parser.add_argument(
            "--batch", type=int, default=10_000, help="members per transaction (default 10,000)"
        )
        parser.add_argument(
            "--cards",
            type=int,
            default=1500,
            help="members given a card with a year of ledger history, on the first run (default 1,500; 0: none)",
        )
        parser.add_argument(
            "--history-days", type=int, default=365, help="days of ledger history (default 365)"
        )
        parser.add_argument(
            "--sales",
            type=int,
            default=300,
            help="checkouts with promotions and coupons over the last 60 days, with the demo catalogue, "
            "on the first run (default 300)",
        )

    def handle(self, *args, members, batch, cards, history_days, sales, **options):
        from onecard.members.models import Member
        from onecard.org.demo import build_demo_chain, demo_merchant

        if members < 0:
            raise CommandError("--members must be 0 or more")
        if batch < 1:
            raise CommandError("--batch must be 1 or more")
        if cards < 0 or history_days < 1 or sales < 0:
            raise CommandError("--cards and --sales must be 0 or more and --history-days 1 or more")
        started = time.monotonic()
        merchant = demo_merchant()
        if merchant is None:
            merchant, stores, _staff = build_demo_chain()
            self.stdout.write(f"demo chain created: {merchant.name}, {len(stores)} stores")
        else:
            stores = list(merchant.nodes.filter(kind="store").order_by("id"))
        existing = Member.objects.filter(merchant=merchant).count()
        wanted = max(members - existing, 0)
        if wanted == 0:
            self.stdout.write(f"demo members already present: {existing:,}")
        else:
            self.seed_members(merchant, stores, existing, wanted, batch, started)
        self.seed_ledger(merchant, cards, history_days)
        self.seed_promotions(merchant, sales)

    def seed_members(self, merchant, stores, existing, wanted, batch, started):
        from onecard.members.demo import seed_members
        from onecard.org.models import Staff

        owners_by_store = {}
        for staff in Staff.objects.filter(node__in=stores, is_active=True).order_by("id"):
            owners_by_store.setdefault(staff.node_id, []).append(staff)
        bar = ProgressBar(self.stdout, wanted, "members")
        if wanted >= BIG_LOAD:
            # One transaction: the secondary indexes go, the rows go in, the indexes are built again by
            # sorting (far quicker than a million random index inserts); a failure leaves nothing behind.
            with transaction.atomic(), bulk_load(self.stdout):
                seed_members(
                    merchant,
                    stores,
                    owners_by_store,
                    wanted,
                    progress=bar.update,
                    start_index=existing,
                    batch=batch,
                    commit=False,
                )
                bar.finish()
        else:
            seed_members(
                merchant,
                stores,
                owners_by_store,
                wanted,
                progress=bar.update,
                start_index=existing,
                batch=batch,
            )
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
        self.stdout.write(
            self.style.SUCCESS(
                f"{wanted:,} demo members created in {time.monotonic() - started:.1f} s "
                f"({existing + wanted:,} in all)"
            )
        )

    def seed_ledger(self, merchant, holders, days):
        """First run only: card products, tiers, rules, cards and `days` of history (loyalty/demo.py)."""
        from onecard.core.demo_logins import DEMO_PASSWORD
        from onecard.loyalty.demo import seed_loyalty
        from onecard.loyalty.models import CardProduct

        if holders == 0:
            return
        if CardProduct.objects.filter(merchant=merchant).exists():
            self.stdout.write("demo cards and ledger history already present")
            return
        bar = ProgressBar(self.stdout, days + 1, "days of ledger history")
        summary = seed_loyalty(merchant, holders=holders, days=days, progress=bar.update)
        bar.finish()
        done = ", ".join(f"{name} {count:,}" for name, count in sorted(summary.operations.items()))
        self.stdout.write(f"demo ledger: {summary.cards:,} cards; {done}")
        if summary.refused:
            refused = ", ".join(f"{code} {count:,}" for code, count in sorted(summary.refused.items()))
            self.stdout.write(f"refused along the way, as a real till would: {refused}")
        tiers = ", ".join(f"{name} {count:,}" for name, count in summary.tier_counts.items())
        self.stdout.write(f"tiers: {tiers}")
        self.stdout.write(self.style.SUCCESS(f"demo ledger history built in {summary.seconds:.1f} s"))
        if summary.easy_card:
            balance = summary.easy_card_balance
            self.stdout.write(
                f"Demo card for the till (/till/): {summary.easy_card} ({summary.easy_card_member}, "
                f"¥{balance // 100:,}.{balance % 100:02d}); log in as cashier / {DEMO_PASSWORD}"
            )

    def seed_promotions(self, merchant, sales):
        """First run only: catalogue, promotions, coupons and `sales` checkouts using them (promotions/demo.py)."""
        from onecard.catalog.models import Product
        from onecard.loyalty.models import CardProduct
        from onecard.promotions.demo import DAYS, seed_promotions

        if Product.objects.filter(merchant=merchant).exists():
            self.stdout.write("demo catalogue, promotions and sales already present")
            return
        if not CardProduct.objects.filter(merchant=merchant).exists():
            self.stdout.write(
                "demo catalogue, promotions and sales skipped: they need the demo cards (--cards)"
            )
            return
        bar = ProgressBar(self.stdout, DAYS + 1, "days of sales")
        summary = seed_promotions(merchant, sales=sales, progress=bar.update)
        bar.finish()
        self.stdout.write(
            f"demo catalogue: {summary.products} products in {summary.categories} categories; "
            f"{summary.promotions} promotions; {summary.templates} coupon templates, {summary.coupons} coupons issued"
        )
        tenders = ", ".join(f"{kind} {count}" for kind, count in sorted(summary.tenders.items()))
        self.stdout.write(
            f"demo sales: {summary.sales} ({summary.with_promotions} with promotions, {summary.coupons_used} "
            f"coupons used; tenders: {tenders}), {summary.returns} returns"
        )
        if summary.refused:
            refused = ", ".join(f"{code} {count}" for code, count in sorted(summary.refused.items()))
            self.stdout.write(f"refused along the way, as a real till would: {refused}")
        self.stdout.write(self.style.SUCCESS(f"demo promotions and sales built in {summary.seconds:.1f} s"))


MEMBER_TABLES = ("members_member", "members_member_tags", "members_consentrecord")


BIG_LOAD = 100_000


def secondary_indexes():
    """(name, CREATE statement) of the non-unique indexes on the member tables."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
                f" AND tbl_name IN ({', '.join(['%s'] * len(MEMBER_TABLES))})",
                list(MEMBER_TABLES),
            )
        elif connection.vendor == "postgresql":
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
                " AND tablename = ANY(%s)",
                [list(MEMBER_TABLES)],
            )
        else:
            return []
        return [(name, sql) for name, sql in cursor.fetchall() if not sql.upper().startswith("CREATE UNIQUE")]


@contextmanager
def bulk_load(out):
    """Inside the caller's transaction: drop the member tables' non-unique indexes, build them again after.

    Unique indexes stay, so duplicates are still refused while loading. SQLite also gets a 1 GiB page cache
    for the load; PostgreSQL more memory for building the indexes.
    """
    indexes = secondary_indexes()
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA cache_size")
            cache_size = cursor.fetchone()[0]
            cursor.execute("PRAGMA cache_size=-1048576")
        for name, _sql in indexes:
            cursor.execute(f"DROP INDEX {qn(name)}")
    try:
        yield
        started = time.monotonic()
        out.write(f"building {len(indexes)} indexes ...")
        out.flush()
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # Django's foreign keys are DEFERRABLE INITIALLY DEFERRED: check the loaded rows now,
                # since PostgreSQL builds no index on a table with checks still pending.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")
                cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
            for _name, sql in indexes:
                cursor.execute(sql)
        out.write(f"indexes built in {time.monotonic() - started:.1f} s")
    finally:
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA cache_size={int(cache_size)}")


def analyze_tables():
    """Fresh planner statistics after a big load, so searches pick their indexes at once."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE " + ", ".join(MEMBER_TABLES))
        elif connection.vendor == "sqlite":
            cursor.execute("PRAGMA analysis_limit=0")  # exact: sampled statistics misjudge the store index
            for table in MEMBER_TABLES:
                cursor.execute(f"ANALYZE {table}")


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
