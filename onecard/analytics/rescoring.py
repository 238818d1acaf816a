"""Scoring every member started by hand: in the background (core.background), with a progress bar.

The nightly job scores in the job loop; this is the button on the classes page. One scoring of a merchant
runs at a time: a second press while one is queued or running (for at most STALE_AFTER) is refused.
"""

import time

from celery import shared_task
from django.utils.translation import gettext_lazy as _

from onecard.analytics import services
from onecard.core import progress
from onecard.core.background import dispatch
from onecard.core.errors import Conflict
from onecard.org.models import Merchant, Staff

STALE_AFTER = 30 * 60  # seconds: a scoring said to run longer than this died with its process


class RescoreRunning(Conflict):
    """A scoring of this merchant is already queued or running."""

    code = "rescore_running"
    default_message = _("A scoring of the members is already running; wait for it to finish.")


def progress_name(merchant_id) -> str:
    return f"analytics-rescore-{merchant_id}"


def state_of(merchant) -> dict | None:
    """The last scoring started by hand: phase (queued, running, done, failed), percent, members, error."""
    return progress.read(progress_name(merchant.pk))


def start_rescore(actor, merchant) -> None:
    """Queue a scoring of every member of `merchant`; refused while another is under way."""
    state = state_of(merchant)
    if state and state["phase"] in ("queued", "running") and time.time() - state["started"] < STALE_AFTER:
        raise RescoreRunning()
    progress.publish(progress_name(merchant.pk), {"phase": "queued", "percent": 0, "started": time.time()})
    dispatch(rescore_task, run_rescore, merchant.pk, actor.pk)


def run_rescore(merchant_id, actor_id) -> None:
    """Score the merchant's members now, publishing the progress; a failure is published, then raised."""
    name = progress_name(merchant_id)
    started = time.time()

    def publish(done, total):
        progress.publish(name, {"phase": "running", "percent": round(100 * done / total), "started": started})

    try:
        merchant = Merchant.objects.get(pk=merchant_id)
        actor = Staff.objects.filter(pk=actor_id).first()
        publish(0, 1)
        result = services.rescore(actor, merchant, progress=publish)
    except Exception as error:
        progress.publish(
            name, {"phase": "failed", "percent": 0, "started": started, "error": str(error)[:300]}
        )
        raise
    progress.publish(
        name,
        {
            "phase": "done",
            "percent": 100,
            "started": started,
            "members": result.members,
            "changed": result.changed,
        },
    )


@shared_task(name="analytics.rescore", ignore_result=True)
def rescore_task(merchant_id, actor_id):
    """Celery entry point of a scoring started by hand."""
    run_rescore(merchant_id, actor_id)
