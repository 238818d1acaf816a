"""`onecard audit verify`: recompute the audit log's hash chain; exit status 1 on any difference. `seal`: chain what is left."""

from onecard.core.audit_chain import seal_audit_log, verify_audit_log
from onecard.core.management.verifying import VerifyCommand


class Command(VerifyCommand):
    help = "Audit log maintenance. `verify` recomputes the hash chain over every record; `seal` chains new records."
    verify_help = "recompute the chain and every record; exit 1 on any difference"

    def add_actions(self, actions):
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
        self.fail_with_problems(report.problems, max_problems, "Audit")
