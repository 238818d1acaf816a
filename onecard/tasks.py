"""Celery tasks of the job schedule: one task per scheduled job of jobs.JOBS, named "onecard.job.<name>".

Beat schedules them (settings.CELERY_BEAT_SCHEDULE). Without a broker they run eagerly when
called; a shop without Celery uses `onecard jobs loop` instead. A failed job raises, so Celery
records the failure (and its traceback is logged by jobs.run_job).
"""

from celery import shared_task

from onecard.jobs import JOBS, run_job


class JobFailed(RuntimeError):
    """A scheduled job raised; the message names the job and its error."""


def _task_for(name):
    def run_scheduled_job():
        result = run_job(name)
        if not result.ok:
            raise JobFailed(f"{name}: {result.error}")
        return {"job": name, "changed": result.changed, "seconds": round(result.seconds, 3)}

    run_scheduled_job.__doc__ = f"Run the scheduled job {name!r} now (jobs.{name})."
    run_scheduled_job.__name__ = run_scheduled_job.__qualname__ = f"job_{name}"
    return shared_task(name=f"onecard.job.{name}", ignore_result=True)(run_scheduled_job)


# One task per registered job, so a job added to JOBS has its task without another line here.
TASKS = {name: _task_for(name) for name in JOBS}
