"""The sales import's background work: the Celery task and how a confirmed import is started, made the way
the member import's are (members.importing.background.background_import).

sales/tasks.py names the task so that Celery's autodiscovery registers it.
"""

from onecard.members.importing.background import background_import

from .running import run_import

run_import_task, dispatch_import = background_import("sales.run_import", run_import)
