"""`onecard audit verify`: recompute the audit log's hash chain; exit status 1 on any difference. `seal`: chain what is left."""

from onecard.core.audit_chain import seal_audit_log, verify_audit_log
from onecard.core.management.verifying import VerifyCommand


class Command(VerifyCommand):
    help = "Audit log maintenance. `verify` recomputes the hash chain over every record; `seal` chains new records."
    verify_help = "recompute the chain and every record; exit 1 on any difference"
    checked = "Audit"
    ok_message = "Audit log OK: every record matches the hash chain."

    def add_actions(self, actions):
        actions.add_parser("seal", help="chain the committed records not sealed yet (the job seal_audit_log)")

    def handle(self, *args, action, **options):
        if action == "seal":
            self.stdout.write(f"Sealed {seal_audit_log()} audit record(s).")
        else:
            self.verify(options["max_problems"])

    def verify_records(self):
        return verify_audit_log()

    def summary(self, report):
        return (
            f"Checked {report.sealed} sealed audit records (chain head at seq {report.head_seq}), "
            f"{report.unsealed} not sealed yet."
        )
