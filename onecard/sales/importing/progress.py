"""Where a running sales import is, for the progress bar: the member import's arrangement
(members.importing.progress.ImportProgress) under names of its own."""

from onecard.members.importing.progress import ImportProgress

SALES_IMPORTS = ImportProgress("sales-import")
progress_file = SALES_IMPORTS.file
set_progress = SALES_IMPORTS.set
read_progress = SALES_IMPORTS.read
clear_progress = SALES_IMPORTS.clear
progress_of = SALES_IMPORTS.of
