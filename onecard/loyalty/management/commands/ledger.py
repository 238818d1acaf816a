"""`onecard ledger verify`: recompute the books from the journal; exit status 1 on any difference."""

from onecard.core.management.verifying import VerifyCommand
from onecard.loyalty.ledger.verify import verify_ledger


class Command(VerifyCommand):
    help = "Ledger maintenance. `verify` recomputes every balance, entry sum and hash chain from the journal."
    verify_help = "recompute balances and hash chains; exit 1 on any difference"

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
        self.fail_with_problems(report.problems, max_problems, "Ledger")
