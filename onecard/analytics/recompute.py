"""Recomputations started by hand — a scoring of every member, a lifetime-value fit, a backfill of past
months' snapshots — in the background
(core.background: a Celery task when a broker is set), with a progress bar on the page that started them.

The schedule runs the same work in the job loop (jobs.score_members, jobs.fit_lifetime_value); this is the
button. One run of a kind per merchant at a time: a second press while one is queued or running (for at
most STALE_AFTER) is refused.
"""

import time

from celery import shared_task
from django.utils.translation import gettext_lazy as _

from onecard.analytics import services
from onecard.analytics.value import services as value_services
from onecard.core import progress
from onecard.core.background import dispatch
from onecard.core.errors import BusinessError, Conflict
from onecard.org.models import Merchant, Staff

STALE_AFTER = 30 * 60  # seconds: a run said to last longer than this died with its process
KINDS = ("score", "fit", "backfill")


class AlreadyRunning(Conflict):
    """A recomputation of this kind is already queued or running for the merchant."""

    code = "recompute_running"
    default_message = _("This recomputation is already running; wait for it to finish.")


def progress_name(kind, merchant_id) -> str:
    return f"analytics-{kind}-{merchant_id}"


def state_of(merchant, kind="score") -> dict | None:
    """The last run of `kind` started by hand: phase (queued, running, done, failed), percent, result, error."""
    return progress.read(progress_name(kind, merchant.pk))


def start(actor, merchant, kind="score") -> None:
    """Queue a run of `kind` for `merchant`; refused while another of that kind is under way."""
    if kind not in KINDS:
        raise ValueError(kind)
    state = state_of(merchant, kind)
    if state and state["phase"] in ("queued", "running") and time.time() - state["started"] < STALE_AFTER:
        raise AlreadyRunning()
    progress.publish(
        progress_name(kind, merchant.pk), {"phase": "queued", "percent": 0, "started": time.time()}
    )
    dispatch(recompute_task, run, kind, merchant.pk, actor.pk)


def _score(actor, merchant, publish) -> dict:
    result = services.rescore(actor, merchant, progress=publish)
    return {"members": result.members, "changed": result.changed}


def _fit(actor, merchant, publish) -> dict:
    fit = value_services.fit_merchant(merchant, actor=actor)
    return {"members": fit.members, "end": fit.calibration_end.isoformat()}


def _backfill(actor, merchant, publish) -> dict:
    written = services.backfill(actor, merchant, progress=publish)
    return {"months": len(written), "members": sum(written.values())}


WORK = {"score": _score, "fit": _fit, "backfill": _backfill}


def run(kind, merchant_id, actor_id) -> None:
    """Run `kind` for the merchant now, publishing its progress; a refusal or failure is published, then raised."""
    name = progress_name(kind, merchant_id)
    started = time.time()

    def publish(done, total):
        progress.publish(name, {"phase": "running", "percent": round(100 * done / total), "started": started})

    try:
        merchant = Merchant.objects.get(pk=merchant_id)
        actor = Staff.objects.filter(pk=actor_id).first()
        publish(0, 1)
        result = WORK[kind](actor, merchant, publish)
    except BusinessError as refusal:  # e.g. too few repeat buyers to fit: the page shows why
        progress.publish(
            name, {"phase": "failed", "percent": 0, "started": started, "error": str(refusal.message)}
        )
        return
    except Exception as error:
        progress.publish(
            name, {"phase": "failed", "percent": 0, "started": started, "error": str(error)[:300]}
        )
        raise
    progress.publish(name, {"phase": "done", "percent": 100, "started": started, **result})


@shared_task(name="analytics.recompute", ignore_result=True)
def recompute_task(kind, merchant_id, actor_id):
    """Celery entry point of a recomputation started by hand."""
    run(kind, merchant_id, actor_id)
