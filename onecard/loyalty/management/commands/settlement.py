"""`onecard settlement build`: the settlement statements of a day or a month, printed as a table.

Run it daily (and monthly) after midnight Asia/Shanghai; running it again changes nothing. Exits 1
when a statement's two sides do not add up to zero (a ledger fault worth waking someone for).
"""

from django.core.management.base import BaseCommand, CommandError

from onecard.core.errors import BusinessError
from onecard.core.money import fen_to_yuan_str
from onecard.loyalty.settlement.services import build_statements, default_period, parse_period, period_kind_of
from onecard.org.models import Merchant


class Command(BaseCommand):
    help = "Settlement statements between stores and between merchants (L6)."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        build = actions.add_parser("build", help="create or update the statements of one period")
        build.add_argument("--period", choices=["day", "month"], default="day")
        build.add_argument(
            "--date",
            help="YYYY-MM-DD (a day, or any day of the month) or YYYY-MM; default: yesterday / last month",
        )
        build.add_argument("--merchant", help="merchant code: only pairs it is part of")

    def handle(self, *args, action, **options):
        if action == "build":
            self.build(options["period"], options.get("date"), options.get("merchant"))

    def build(self, period, date, merchant_code):
        try:
            kind = period_kind_of(period)
            day = parse_period(kind, date) if date else default_period(kind)
        except BusinessError as error:
            raise CommandError(str(error.message)) from None
        merchant = None
        if merchant_code:
            merchant = Merchant.objects.filter(code=merchant_code).first()
            if merchant is None:
                raise CommandError(f"No merchant has the code {merchant_code!r}")
        result = build_statements(kind, day, merchant=merchant)
        self.stdout.write(
            f"Settlement {kind} {day.isoformat() if kind == 'day' else day.strftime('%Y-%m')}: "
            f"{len(result.created)} created, {len(result.updated)} updated, {len(result.unchanged)} unchanged, "
            f"{len(result.settled)} already settled."
        )
        self._table(result.statements)
        if result.late:
            self.stdout.write(
                self.style.WARNING(
                    f"{len(result.late)} late statement(s): entries that arrived after their period was settled."
                )
            )
        if result.unbalanced:
            raise CommandError(
                f"{len(result.unbalanced)} statement(s) do not net to zero: the clearing ledger has a fault",
                returncode=1,
            )

    def _table(self, statements):
        if not statements:
            self.stdout.write("No clearing postings in this period.")
            return
        header = [
            "#",
            "pair",
            "party A",
            "party B",
            "part",
            "A owes B",
            "B owes A",
            "net",
            "entries",
            "status",
        ]
        rows = [header]
        for s in statements:
            note = (
                s.status
                + (" LATE" if s.is_late else "")
                + (f" UNBALANCED {s.imbalance}" if s.imbalance else "")
            )
            rows.append(
                [
                    str(s.pk),
                    s.pair_kind,
                    s.party_a_name,
                    s.party_b_name,
                    str(s.part),
                    fen_to_yuan_str(s.gross_a_owes_b),
                    fen_to_yuan_str(s.gross_b_owes_a),
                    fen_to_yuan_str(s.net),
                    str(s.entry_count),
                    note,
                ]
            )
        widths = [max(_width(row[i]) for row in rows) for i in range(len(header))]
        for row in rows:
            self.stdout.write("  ".join(_pad(cell, width) for cell, width in zip(row, widths, strict=True)))


def _width(text) -> int:
    """Display width: CJK characters take two columns in a terminal."""
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def _pad(text, width) -> str:
    return text + " " * (width - _width(text))
