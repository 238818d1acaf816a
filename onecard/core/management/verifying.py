"""The shape of the maintenance commands that check stored records (`onecard audit verify`, `ledger verify`)."""

from django.core.management.base import BaseCommand, CommandError


class VerifyCommand(BaseCommand):
    """A command whose `verify` action prints a summary, then OK or at most --max-problems differences (exit 1).

    A command declares `verify_help`, `checked` (what the error names) and `ok_message`, and writes
    `verify_records()` (a report with `ok` and `problems`) and `summary(report)`.
    """

    # Runs on a broken or half-deployed installation too: checking the records must not depend on URLs, admin...
    requires_system_checks = []
    verify_help = ""
    checked = ""
    ok_message = ""

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        verify = actions.add_parser("verify", help=self.verify_help)
        verify.add_argument(
            "--max-problems", type=int, default=100, help="how many differences to print (default 100)"
        )
        self.add_actions(actions)

    def add_actions(self, actions):
        """The command's actions besides verify."""

    def handle(self, *args, action, **options):
        if action == "verify":
            self.verify(options["max_problems"])

    def verify_records(self):
        """Recompute and compare; return the report."""
        raise NotImplementedError

    def summary(self, report) -> str:
        """The line that says what was checked."""
        raise NotImplementedError

    def verify(self, max_problems):
        report = self.verify_records()
        self.stdout.write(self.summary(report))
        if report.ok:
            self.stdout.write(self.style.SUCCESS(self.ok_message))
            return
        for problem in report.problems[:max_problems]:
            self.stderr.write(str(problem))
        if len(report.problems) > max_problems:
            self.stderr.write(f"... and {len(report.problems) - max_problems} more")
        raise CommandError(f"{self.checked} verify found {len(report.problems)} difference(s)", returncode=1)
