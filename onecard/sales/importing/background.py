"""The sales import's background work: the Celery task and how a confirmed import is started.

As the member import (members/importing/background.py): inline under ONECARD_IMPORT_INLINE (tests), a
Celery task after commit when a broker is configured, else a daemon thread of the web process so the
request returns at once and the page can poll the progress. sales/tasks.py names the task for Celery.
"""

import contextvars
import logging
import threading

from celery import shared_task
from django.conf import settings
from django.db import connections, transaction

from .running import run_import

logger = logging.getLogger(__name__)


@shared_task(name="sales.run_import", ignore_result=True)
def run_import_task(job_id, actor_id):
    """Celery entry point; the job's status makes a redelivered task a no-op."""
    run_import(job_id, actor_id)


def _run_in_thread(job_id, actor_id):
    try:
        run_import(job_id, actor_id)
    except Exception:  # run_import records failures itself; this only guards the thread
        logger.exception("Sales import %s crashed", job_id)
    finally:
        connections.close_all()  # this thread's own connections


def dispatch_import(job_id, actor_id):
    """Run a confirmed import in the background, the way this deployment can (module doc)."""
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
            name=f"onecard-sales-import-{job_id}",
            daemon=True,
        ).start()

    transaction.on_commit(start)
