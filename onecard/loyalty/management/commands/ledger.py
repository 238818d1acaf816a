"""`onecard ledger verify`: recompute the books from the journal; exit status 1 on any difference."""

from django.core.management.base import BaseCommand, CommandError

from onecard.loyalty.ledger.verify import verify_ledger


class Command(BaseCommand):
    help = "Ledger maintenance. `verify` recomputes every balance, entry sum and hash chain from the journal."
    # Runs on a broken or half-deployed installation too: checking the books must not depend on URLs, admin...
    requires_system_checks = []

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        verify = actions.add_parser(
            "verify", help="recompute balances and hash chains; exit 1 on any difference"
        )
        verify.add_argument(
            "--max-problems", type=int, default=100, help="how many differences to print (default 100)"
        )

    def handle(self, *args, action, **options):
        if action == "verify":
            self.verify(options["max_problems"])

    def verify(self, max_problems):
        report = verify_ledger()
        totals = (
            ", ".join(f"{currency} {total}" for currency, total in sorted(report.totals.items())) or "none"
        )
        self.stdout.write(
            f"Checked {report.accounts} accounts, {report.entries} entries, {report.postings} postings; "
            f"balance totals: {totals}."
        )
        if report.ok:
            self.stdout.write(self.style.SUCCESS("Ledger OK: every balance, entry and hash chain matches."))
            return
        for problem in report.problems[:max_problems]:
            self.stderr.write(str(problem))
        if len(report.problems) > max_problems:
            self.stderr.write(f"... and {len(report.problems) - max_problems} more")
        raise CommandError(f"Ledger verify found {len(report.problems)} difference(s)", returncode=1)
