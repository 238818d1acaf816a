"""`onecard ledger verify`: recompute the books from the journal; exit status 1 on any difference."""

from onecard.core.management.verifying import VerifyCommand
from onecard.loyalty.ledger.verify import verify_ledger


class Command(VerifyCommand):
    help = "Ledger maintenance. `verify` recomputes every balance, entry sum and hash chain from the journal."
    verify_help = "recompute balances and hash chains; exit 1 on any difference"
    checked = "Ledger"
    ok_message = "Ledger OK: every balance, entry and hash chain matches."

    def verify_records(self):
        return verify_ledger()

    def summary(self, report):
        totals = (
            ", ".join(f"{currency} {total}" for currency, total in sorted(report.totals.items())) or "none"
        )
        return (
            f"Checked {report.accounts} accounts, {report.entries} entries, {report.postings} postings; "
            f"balance totals: {totals}."
        )
