"""`onecard audit verify`: recompute the audit log's hash chain; exit status 1 on any difference. `seal`: chain what is left."""

from django.core.management.base import BaseCommand, CommandError

from onecard.core.audit_chain import seal_audit_log, verify_audit_log


class Command(BaseCommand):
    help = "Audit log maintenance. `verify` recomputes the hash chain over every record; `seal` chains new records."
    # Runs on a broken or half-deployed installation too, like `onecard ledger verify`.
    requires_system_checks = []

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        verify = actions.add_parser(
            "verify", help="recompute the chain and every record; exit 1 on any difference"
        )
        verify.add_argument(
            "--max-problems", type=int, default=100, help="how many differences to print (default 100)"
        )
        actions.add_parser("seal", help="chain the committed records not sealed yet (the job seal_audit_log)")

    def handle(self, *args, action, **options):
        if action == "seal":
            self.stdout.write(f"Sealed {seal_audit_log()} audit record(s).")
        else:
            self.verify(options["max_problems"])

    def verify(self, max_problems):
        report = verify_audit_log()
        self.stdout.write(
            f"Checked {report.sealed} sealed audit records (chain head at seq {report.head_seq}), "
            f"{report.unsealed} not sealed yet."
        )
        if report.ok:
            self.stdout.write(self.style.SUCCESS("Audit log OK: every record matches the hash chain."))
            return
        for problem in report.problems[:max_problems]:
            self.stderr.write(str(problem))
        if len(report.problems) > max_problems:
            self.stderr.write(f"... and {len(report.problems) - max_problems} more")
        raise CommandError(f"Audit verify found {len(report.problems)} difference(s)", returncode=1)
