"""Member import (M7): read .xlsx/.csv, map columns, check every row, import the valid rows in one transaction.

The flow, one function per step (in `jobs`, the last in `running`):
  create_import_job  upload: store the file, read the header row, guess the column mapping (`mapping`);
  set_mapping        the user corrects the mapping and picks a default store;
  check_import       dry run: every row is checked (`checking`), the counts and a row-by-row error report
                     are stored on the job; no member changes;
  start_import       the user confirms; a conditional UPDATE lets only one of two clicks through;
  run_import         in the background (`background`, `running`): re-check against the database as it is now, insert the
                     valid rows in ONE transaction, write one audit row. Any failure imports nothing.

The life cycle (upload, check, the one confirm, the background run, done or failed, the error report) is
shared with the historical sales import: `lifecycle` holds it once, parametrised by the job model, the row
checker, the writer and the permission.

Progress (`progress`) goes to the cache, not the database: on SQLite the import transaction holds the write
lock, and the job row only changes (to done) inside that same transaction.
"""

from .checking import CheckResult, check_rows, default_store_of
from .files import MAX_ROWS, decode_csv, open_job_table, open_table, text_of
from .jobs import (
    check_import,
    create_import_job,
    error_report_xlsx,
    preview_rows,
    recent_jobs,
    set_mapping,
    start_import,
    template_xlsx,
)
from .lifecycle import earlier_imports_of_same_file
from .mapping import FIELDS, auto_mapping, custom_field_definitions, stores_for, target_choices, target_label
from .progress import progress_file, progress_of, set_progress
from .running import run_import

__all__ = [
    "FIELDS",
    "MAX_ROWS",
    "CheckResult",
    "auto_mapping",
    "check_import",
    "check_rows",
    "create_import_job",
    "custom_field_definitions",
    "decode_csv",
    "default_store_of",
    "earlier_imports_of_same_file",
    "error_report_xlsx",
    "open_job_table",
    "open_table",
    "preview_rows",
    "progress_file",
    "progress_of",
    "recent_jobs",
    "run_import",
    "set_mapping",
    "set_progress",
    "start_import",
    "stores_for",
    "target_choices",
    "target_label",
    "template_xlsx",
    "text_of",
]
