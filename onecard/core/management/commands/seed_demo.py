"""`onecard seed-demo`: the demo chain with staff in every role and believable members."""

import sys
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from onecard.core import audit


class Command(BaseCommand):
    help = "Build the demo chain (1 HQ, 3 regions, 12 stores, staff in every role) and its members."

    def add_arguments(self, parser):
        parser.add_argument("--members", type=int, default=5000, help="how many members (default 5,000)")

    def handle(self, *args, members, **options):
        from onecard.members.demo import seed_members
        from onecard.members.models import Member
        from onecard.org.demo import build_demo_chain, demo_merchant
        from onecard.org.models import Staff

        if members < 0:
            raise CommandError("--members must be 0 or more")
        started = time.monotonic()
        merchant = demo_merchant()
        if merchant is None:
            merchant, stores, _staff = build_demo_chain()
            self.stdout.write(f"demo chain created: {merchant.name}, {len(stores)} stores")
        else:
            stores = list(merchant.nodes.filter(kind="store"))
        existing = Member.objects.filter(merchant=merchant).count()
        wanted = max(members - existing, 0)
        if wanted == 0:
            self.stdout.write(f"demo members already present: {existing:,}")
            return
        owners_by_store = {}
        for staff in Staff.objects.filter(node__in=stores, is_active=True):
            owners_by_store.setdefault(staff.node_id, []).append(staff)
        bar = ProgressBar(self.stdout, wanted, "members")
        with transaction.atomic():
            seed_members(merchant, stores, owners_by_store, wanted, progress=bar.update, start_index=existing)
            audit.record(
                None,
                "import",
                subject_type="members.member",
                subject_repr=f"demo members × {wanted}",
                merchant=merchant,
                note="onecard seed-demo",
            )
        bar.finish()
        self.stdout.write(
            self.style.SUCCESS(
                f"{wanted:,} demo members created in {time.monotonic() - started:.1f} s "
                f"({existing + wanted:,} in all)"
            )
        )


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
