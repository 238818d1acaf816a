"""Where a running sales import is, for the progress bar: the member import's arrangement
(members.importing.progress.ImportProgress) under names of its own."""

from onecard.members.importing.progress import ImportProgress

SALES_IMPORTS = ImportProgress("sales-import")
set_progress = SALES_IMPORTS.set
progress_of = SALES_IMPORTS.of
