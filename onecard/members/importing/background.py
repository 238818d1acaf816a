"""The import's background work: the Celery task and how a confirmed import is started (core.background).

It lives in the importing package, which starts it (`start_import`) and whose `run_import` it runs; this
module (members/tasks.py) names the task so that Celery's autodiscovery registers it. `background_import`
makes the same pair for another import (sales.importing.background).
"""

from celery import shared_task

from onecard.core.background import dispatch

from .running import run_import


def background_import(task_name, run):
    """The Celery task `task_name` that runs `run(job_id, actor_id)`, and the function that starts it."""

    @shared_task(name=task_name, ignore_result=True)
    def run_import_task(job_id, actor_id):
        """Celery entry point; the job's status makes a redelivered task a no-op."""
        run(job_id, actor_id)

    def dispatch_import(job_id, actor_id):
        """Run a confirmed import in the background, the way this deployment can (core.background.dispatch)."""
        dispatch(run_import_task, run, job_id, actor_id)

    return run_import_task, dispatch_import


run_import_task, dispatch_import = background_import("members.run_import", run_import)
