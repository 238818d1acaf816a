"""`onecard analytics <action>`: analytics from the shell. One action per subcommand.

`rebuild [--merchant ID]` recomputes the members' facts from the sales (analytics.facts) and the dashboards'
daily rollups up to yesterday (analytics.dashboards.rollup); `rollup [--merchant ID]` brings those rollups
up to yesterday, adding only the days missing; `score [--merchant ID]` scores every member now and writes
this month's snapshot (analytics.scoring); `backfill [--months N] [--merchant ID]` writes the snapshots of
the past months that have none, as the members stood at each month's end (analytics.backfill), so the
migration matrix has a month before. Rebuild, score and backfill then count the classes and cohort pages'
figures again (analytics.page_counts).

`clv --calibration-end YYYY-MM-DD [--merchant ID]` fits the lifetime-value models of every merchant (or the
one named, by id or code) to the sales before that date and prints one JSON line per merchant. Without
--merchant, a merchant with too few repeat buyers is skipped with a note on stderr (exit status 1 only when
none could be fitted); a named one that cannot be fitted is an error. A fit whose
calibration ends today also writes the members' predicted purchases and value (analytics.value.services).
"""

import datetime
import json

from django.core.management.base import BaseCommand, CommandError

from onecard.analytics import backfill, facts, page_counts, scoring
from onecard.analytics.dashboards import rollup
from onecard.analytics.models import RollupState
from onecard.analytics.value.services import fit_merchant
from onecard.core.errors import BusinessError
from onecard.org.models import Merchant

FIT_FIELDS = (
    "r", "alpha", "a", "b", "p", "q", "gamma", "bgnbd_log_likelihood", "gamma_gamma_log_likelihood",
)  # fmt: skip


def _date(text):
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"Not a date (YYYY-MM-DD): {text!r}.") from None


def _merchants(text):
    """The merchant named by id or code, or every merchant."""
    if not text:
        return list(Merchant.objects.order_by("pk"))
    found = Merchant.objects.filter(code=text).first()
    if found is None and text.isascii() and text.isdigit():
        found = Merchant.objects.filter(pk=int(text)).first()
    if found is None:
        raise CommandError(f"No merchant has the id or code {text!r}.")
    return [found]


def fit_line(fit) -> dict:
    """The JSON the `clv` action prints for one fit."""
    line = {
        "merchant": fit.merchant_id,
        "calibration_end": fit.calibration_end.isoformat(),
        "members": fit.members,
    }
    line.update({name: getattr(fit, name) for name in FIT_FIELDS})
    return line


class Command(BaseCommand):
    help = (
        "Analytics from the shell: `rebuild` the members' facts from the sales, `score` them (RFM, ABCD, life cycle), "
        "`clv` fit the lifetime-value models and print their parameters as JSON."
    )

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        for name, help_text in (
            (
                "rebuild",
                "recompute every member's facts and the dashboards' rollups from the sales and top-ups",
            ),
            ("score", "score every member now (RFM, ABCD, life cycle) and keep this month's snapshot"),
            ("rollup", "bring the dashboards' daily rollups up to yesterday"),
        ):
            action = actions.add_parser(name, help=help_text)
            action.add_argument(
                "--merchant", metavar="ID", help="the merchant's id or code (default: every merchant)"
            )
        past = actions.add_parser(
            "backfill", help="snapshot the past months that have none, as the members stood at each month end"
        )
        past.add_argument("--months", type=int, default=12, help="closed months to fill (default 12)")
        past.add_argument(
            "--merchant", metavar="ID", help="the merchant's id or code (default: every merchant)"
        )
        clv = actions.add_parser("clv", help="fit BG/NBD and Gamma-Gamma; one JSON line per merchant")
        clv.add_argument(
            "--calibration-end",
            type=_date,
            default=None,
            metavar="YYYY-MM-DD",
            help="use the sales before this local date (default: today, which also writes the predictions)",
        )
        clv.add_argument(
            "--merchant", metavar="ID", help="the merchant's id or code (default: every merchant)"
        )

    def handle(self, *args, action, **options):
        if action == "clv":
            self.clv(options["calibration_end"], options["merchant"])
        elif action == "rebuild":
            for merchant in _merchants(options["merchant"]):
                counts = facts.rebuild(merchant=merchant)
                page_counts.refresh(merchant)
                self.stdout.write(
                    f"merchant {merchant.pk} ({merchant.code}): {counts.members:,} members' facts, "
                    f"{counts.months:,} months, {counts.stores:,} stores, {counts.products:,} products"
                )
                RollupState.objects.filter(merchant=merchant).delete()  # every closed day again
                self.roll_up(merchant)
        elif action == "backfill":
            if not 1 <= options["months"] <= 120:
                raise CommandError("--months must be between 1 and 120.")
            for merchant in _merchants(options["merchant"]):
                written = backfill.backfill_snapshots(merchant, options["months"])
                page_counts.refresh(merchant)
                months = ", ".join(f"{month:%Y-%m} ({n:,})" for month, n in written.items()) or "none missing"
                self.stdout.write(f"merchant {merchant.pk} ({merchant.code}): snapshots written: {months}")
        elif action == "rollup":
            for merchant in _merchants(options["merchant"]):
                self.roll_up(merchant)
        elif action == "score":
            for merchant in _merchants(options["merchant"]):
                result = scoring.score_merchant(merchant)
                page_counts.refresh(merchant)
                self.stdout.write(
                    f"merchant {merchant.pk} ({merchant.code}): {result.members:,} members scored, "
                    f"{result.changed:,} changed class"
                )

    def roll_up(self, merchant):
        """Bring one merchant's dashboard rollups up to yesterday and say how far they reach."""
        written = rollup.roll_up(merchant)
        self.stdout.write(
            f"merchant {merchant.pk} ({merchant.code}): dashboards rolled up through "
            f"{rollup.rolled_through(merchant.pk)}, {written:,} store days written"
        )

    def clv(self, calibration_end, merchant_text):
        """Fit each merchant; a refusal (too few buyers) is an error for a named merchant, a note otherwise."""
        merchants = _merchants(merchant_text)
        if not merchants:
            raise CommandError("There is no merchant.")
        fitted = 0
        for merchant in merchants:
            try:
                fit = fit_merchant(merchant, calibration_end)
            except BusinessError as refusal:
                if merchant_text:
                    raise CommandError(str(refusal.message)) from None
                self.stderr.write(f"merchant {merchant.pk} ({merchant.code}) skipped: {refusal.message}")
                continue
            fitted += 1
            self.stdout.write(json.dumps(fit_line(fit), ensure_ascii=False))
        if not fitted:
            raise CommandError("No merchant could be fitted.")
