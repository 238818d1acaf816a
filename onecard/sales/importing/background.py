"""The sales import's background work: the Celery task and how a confirmed import is started (core.background).

sales/tasks.py names the task so that Celery's autodiscovery registers it.
"""

from celery import shared_task

from onecard.core.background import dispatch

from .running import run_import


@shared_task(name="sales.run_import", ignore_result=True)
def run_import_task(job_id, actor_id):
    """Celery entry point; the job's status makes a redelivered task a no-op."""
    run_import(job_id, actor_id)


def dispatch_import(job_id, actor_id):
    """Run a confirmed import in the background, the way this deployment can (core.background.dispatch)."""
    dispatch(run_import_task, run_import, job_id, actor_id)
