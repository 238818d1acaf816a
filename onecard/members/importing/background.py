"""The import's background work: the Celery task and how a confirmed import is started.

It lives in the importing package, which starts it (`start_import`) and whose `run_import` it runs; this
module (members/tasks.py) names the task so that Celery's autodiscovery registers it.
"""

import contextvars
import logging
import threading

from celery import shared_task
from django.conf import settings
from django.db import connections, transaction

from .running import run_import

logger = logging.getLogger(__name__)


@shared_task(name="members.run_import", ignore_result=True)
def run_import_task(job_id, actor_id):
    """Celery entry point; the job's status makes a redelivered task a no-op."""
    run_import(job_id, actor_id)


def _run_in_thread(job_id, actor_id):
    try:
        run_import(job_id, actor_id)
    except Exception:  # run_import records failures itself; this only guards the thread
        logger.exception("Import job %s crashed", job_id)
    finally:
        connections.close_all()  # this thread's own connections


def dispatch_import(job_id, actor_id):
    """Run a confirmed import in the background, the way this deployment can.

    - ONECARD_IMPORT_INLINE (tests): run now, in the caller, so a test sees the finished import.
    - A Celery broker is configured: queue the task for a worker, after the caller's transaction commits.
    - No broker (CELERY_TASK_ALWAYS_EAGER): Celery would run the task eagerly *inside the request*, which
      would hold the request for the whole import and the page could never show the progress bar. So the
      import runs in a daemon thread of the web process instead; the request returns at once and the page
      polls the progress. If the process stops mid-import the transaction rolls back and nothing is imported.
    """
    if getattr(settings, "ONECARD_IMPORT_INLINE", False):
        run_import(job_id, actor_id)
        return
    if not getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
        transaction.on_commit(lambda: run_import_task.delay(job_id, actor_id))
        return
    context = contextvars.copy_context()  # keeps the request's IP and user agent for the audit row

    def start():
        threading.Thread(
            target=context.run,
            args=(_run_in_thread, job_id, actor_id),
            name=f"onecard-import-{job_id}",
            daemon=True,
        ).start()

    transaction.on_commit(start)
