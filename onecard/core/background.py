"""Starting a long job by hand so that the page can show its progress: on Celery when there is a broker.

- ONECARD_RUN_INLINE (tests): run now, in the caller, so a test sees the finished job.
- A Celery broker is configured: queue the task for a worker, after the caller's transaction commits.
- No broker (CELERY_TASK_ALWAYS_EAGER): Celery would run the task eagerly *inside the request*, which would
  hold the request for the whole job and the page could never show the progress bar. So the job runs in a
  daemon thread of the web process instead; the request returns at once and the page polls the progress.
  If the process stops mid-job its transaction rolls back and nothing is half done.
"""

import contextvars
import logging
import threading

from django.conf import settings
from django.db import connections, transaction

logger = logging.getLogger(__name__)


def _run_in_thread(function, args):
    try:
        function(*args)
    except Exception:  # the job records its own failures; this only guards the thread
        logger.exception("Background job %s%r crashed", function.__name__, args)
    finally:
        connections.close_all()  # this thread's own connections


def dispatch(task, function, *args):
    """Run `function(*args)` in the background, the way this deployment can; `task` is its Celery task."""
    if getattr(settings, "ONECARD_RUN_INLINE", False):
        function(*args)
        return
    if not getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
        transaction.on_commit(lambda: task.delay(*args))
        return
    context = contextvars.copy_context()  # keeps the request's IP and user agent for the audit row

    def start():
        threading.Thread(
            target=context.run,
            args=(_run_in_thread, function, args),
            name=f"onecard-{function.__name__}-{'-'.join(map(str, args))}",
            daemon=True,
        ).start()

    transaction.on_commit(start)
