"""Historical sales import (issue 11): merchants moving from another system bring years of purchases.

The flow, one function per step (in `jobs`, the last in `running`):
  create_import_job  upload: store the file, read the header row, recognise each column (`columns`);
                     a file without a member, time, amount or store column is refused at once;
  check_import       dry run: every row is checked (`checking`), the counts, the errors and the rows
                     skipped as imported before are kept on the job; no sale is written;
  start_import       the user confirms a file without errors; a conditional UPDATE lets one click through;
  run_import         in the background (`background`, `running`): check again against the database as it
                     is now and write every sale in ONE transaction, or none if any row has an error.

An imported sale is kind "imported": dated by the file, no tenders, no ledger entry, no points, no invoice
fact; reports of takings leave it out, the analyses count it (`signals.sales_imported`).
"""

from onecard.members.importing.lifecycle import earlier_imports_of_same_file

from .checking import CheckResult, check_rows, parse_amount, parse_time
from .columns import FIELDS, TEMPLATE, recognise, template_xlsx
from .jobs import (
    check_import,
    create_import_job,
    error_report_xlsx,
    recent_jobs,
    start_import,
    visible_jobs,
)
from .progress import progress_of, set_progress
from .running import UNITEMISED_LINE_NAME, run_import, split_due

__all__ = [
    "FIELDS",
    "TEMPLATE",
    "UNITEMISED_LINE_NAME",
    "CheckResult",
    "check_import",
    "check_rows",
    "create_import_job",
    "earlier_imports_of_same_file",
    "error_report_xlsx",
    "parse_amount",
    "parse_time",
    "progress_of",
    "recent_jobs",
    "recognise",
    "run_import",
    "set_progress",
    "split_due",
    "start_import",
    "template_xlsx",
    "visible_jobs",
]
