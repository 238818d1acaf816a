"""The scheduled jobs of every app: expiries, the tier evaluation, statements, coupons and purges, in one registry.

The schedule is wiring: it calls into loyalty, promotions and pos, so it lives in the project package,
above the apps (docs/architecture.md, Layers); each job's work is its app's own service.

`JOBS` maps a job's name to a callable `job(now) -> changed` (an int, or `(int, detail)`), where
`changed` counts what the run changed. Celery beat runs them from `settings.CELERY_BEAT_SCHEDULE`
(one entry per job, task `onecard.job.<name>`, see tasks.py); a shop without Celery runs
`onecard jobs loop`, which reads the same schedule; `onecard jobs run` runs them now.

Adding a job: one line in `JOBS` and one entry in `settings.CELERY_BEAT_SCHEDULE` (a test checks
that the two agree).

Every job is idempotent: it acts only on what is due at `now` (expiries re-read each row under its
lock), so a second run at the same `now` changes nothing and reports 0; the expiries may even race
another run and still change each row once. The tier evaluation is meant to run once at a time
(beat and the loop schedule it daily); run twice on one day it changes nothing more.

Retention, documented here because the purges enforce it:
- used dynamic-QR codes: `qr.KEEP_USED` (10 min; a code is accepted at most 90 s);
- POS nonces: `pos.signing.NONCE_PURGE_AFTER_SECONDS` (15 min; a signed timestamp is accepted up to
  300 s either side of the server clock, so a nonce can only come back within 600 s);
- idempotency keys: `core.idempotency.KEEP_AT_LEAST` (7 days, ARCHITECTURE.md "kept at least 7 days");
- staff sessions: until past their idle or absolute limit (settings ONECARD_*SESSION_*).
"""

import datetime
import logging
import time
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from celery.schedules import crontab
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from onecard.analytics import page_counts, scoring
from onecard.analytics.dashboards import rollup as dashboard_rollup
from onecard.analytics.value import services as clv_services
from onecard.core.audit_chain import seal_audit_log as seal_audit_records
from onecard.core.errors import BusinessError
from onecard.core.idempotency import purge_idempotency_keys
from onecard.loyalty.cards import qr
from onecard.loyalty.cards import services as cards
from onecard.loyalty.packages import services as packages
from onecard.loyalty.points import services as points
from onecard.loyalty.settlement import services as settlement
from onecard.loyalty.stored_value import holds
from onecard.loyalty.tiers.metrics import evaluate_merchant
from onecard.org import staff_sessions
from onecard.org.models import Merchant
from onecard.pos import services as pos_services
from onecard.promotions import coupons

logger = logging.getLogger(__name__)
SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class JobResult:
    """What one job did: how many things it changed, in how long, and the error if it failed."""

    name: str
    changed: int
    seconds: float
    detail: str = ""
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error


# ---- the jobs ---------------------------------------------------------------------------------------------


def expire_holds(now):
    """Release every open hold past its expiry (loyalty.stored_value.holds)."""
    return holds.expire_holds(now)


def expire_points(now):
    """Expire the points lots whose date has passed; changed = lots expired."""
    run = points.expire_points(now)
    return run.lots, f"{run.points:,} points on {run.cards:,} cards"


def expire_cards(now):
    """Active and frozen cards past their validity become expired (cards.expire_due_cards)."""
    return cards.expire_due_cards(now)


def evaluate_tiers(now):
    """Upgrade, review and downgrade the members of every merchant as of today in Asia/Shanghai."""
    today = timezone.localdate(now, SHANGHAI)
    changed = upgraded = downgraded = grace = evaluated = 0
    for merchant in Merchant.objects.order_by("pk"):
        result = evaluate_merchant(merchant, today)
        evaluated += result.evaluated
        upgraded += result.upgraded
        downgraded += result.downgraded
        grace += result.grace_started
        changed += result.upgraded + result.downgraded + result.grace_started + result.renewed
    detail = f"{evaluated:,} members on {today}: {upgraded} up, {downgraded} down, {grace} into grace"
    return changed, detail


def purge_qr_codes(now):
    """Forget used dynamic-QR codes older than qr.KEEP_USED."""
    return qr.purge_used_codes(now)


def purge_nonces(now):
    """Forget POS request nonces past the signature window (pos.signing.NONCE_PURGE_AFTER_SECONDS)."""
    return pos_services.purge_nonces(now=now)


def purge_idempotency(now):
    """Delete idempotency keys older than their 7-day retention (core.idempotency.KEEP_AT_LEAST)."""
    return purge_idempotency_keys(now=now)


def purge_sessions(now):
    """Forget staff sessions past their idle or absolute limit, and Django's expired sessions (org.staff_sessions)."""
    return staff_sessions.purge_stale(now)


def seal_audit_log(now):
    """Chain the audit records a crash left unsealed between their commit and their seal (core.audit_chain)."""
    return seal_audit_records()


def expire_packages(now):
    """Count and period cards past their last valid day recognise what is left as revenue (loyalty.packages)."""
    return packages.expire_packages(now)


def _build_statements(period_kind, now):
    today = timezone.localdate(now, SHANGHAI)
    period = settlement.default_period(period_kind, today)
    result = settlement.build_statements(period_kind, period)
    if result.unbalanced:
        # A statement that does not net to zero means a ledger bug: fail loudly so someone looks.
        raise RuntimeError(f"{len(result.unbalanced)} settlement statements of {period} do not net to zero")
    detail = f"{period}: {len(result.created)} new, {len(result.updated)} updated, {len(result.late)} late"
    return len(result.created) + len(result.updated), detail


def build_daily_statements(now):
    """Yesterday's settlement statements between stores and between merchants (loyalty.settlement)."""
    return _build_statements("day", now)


def build_monthly_statements(now):
    """Last month's settlement statements (loyalty.settlement); rebuilding an open one only brings it up to date."""
    return _build_statements("month", now)


def issue_birthday_coupons(now):
    """Coupons of templates issued on birthdays, once per member per year (promotions.coupons)."""
    return coupons.issue_on_birthday(timezone.localdate(now, SHANGHAI), at=now)


def expire_coupons(now):
    """Coupons past their validity become expired (promotions.coupons)."""
    return coupons.expire_coupons(now)


# The registry: name → job(now). Add a job with one line here and one entry in settings.CELERY_BEAT_SCHEDULE.
def score_members(now):
    """Score every member of every merchant (RFM, ABCD, life cycle, favourites), keep this month's snapshot,
    and count the classes and cohort pages' figures again (analytics.page_counts).

    changed = members whose class or stage moved (a second run on the same day moves none).
    """
    today = timezone.localdate(now, SHANGHAI)
    scored = changed = 0
    for merchant in Merchant.objects.order_by("pk"):
        result = scoring.score_merchant(merchant, today=today)
        page_counts.refresh(merchant)  # the classes and cohort pages show the counts of this scoring
        scored, changed = scored + result.members, changed + result.changed
    return changed, f"{scored:,} members scored on {today}, {changed:,} changed class"


def roll_up_dashboards(now):
    """Add yesterday (and any day missed) to every merchant's dashboard rollups; changed = store days written.

    A second run on the same day writes nothing: each merchant's rollups already reach yesterday.
    """
    through = timezone.localdate(now, SHANGHAI) - datetime.timedelta(days=1)
    written = 0
    for merchant in Merchant.objects.order_by("pk"):
        written += dashboard_rollup.roll_up(merchant, through)
    return written, f"dashboards rolled up through {through}: {written:,} store days written"


def fit_lifetime_value(now):
    """Fit the lifetime-value models of every merchant with enough repeat buyers; changed = merchants fitted.

    Weekly: a fit reads every sale; a merchant with too few repeat buyers is skipped, as the command does.
    """
    fitted = skipped = 0
    for merchant in Merchant.objects.order_by("pk"):
        try:
            clv_services.fit_merchant(merchant)
        except BusinessError:
            skipped += 1
            continue
        fitted += 1
    return fitted, f"{fitted} merchants fitted, {skipped} with too few repeat buyers"


JOBS = {
    "expire_holds": expire_holds,
    "expire_points": expire_points,
    "expire_cards": expire_cards,
    "evaluate_tiers": evaluate_tiers,
    "purge_qr_codes": purge_qr_codes,
    "purge_nonces": purge_nonces,
    "purge_idempotency": purge_idempotency,
    "purge_sessions": purge_sessions,
    "seal_audit_log": seal_audit_log,
    "expire_packages": expire_packages,
    "build_daily_statements": build_daily_statements,
    "build_monthly_statements": build_monthly_statements,
    "issue_birthday_coupons": issue_birthday_coupons,
    "expire_coupons": expire_coupons,
    "score_members": score_members,
    "roll_up_dashboards": roll_up_dashboards,
    "fit_lifetime_value": fit_lifetime_value,
}


class UnknownJob(ValueError):
    """A job name that is not in JOBS."""


# ---- running them ---------------------------------------------------------------------------------------------


def run_job(name, now=None) -> JobResult:
    """Run one registered job; an exception is caught, logged and reported in the result, never raised."""
    if name not in JOBS:
        raise UnknownJob(name)
    now = now or timezone.now()
    started = time.monotonic()
    try:
        outcome = JOBS[name](now)
    except Exception as error:  # one failing job must not stop the others; the result carries it
        logger.exception("job %s failed", name)
        return JobResult(name, 0, time.monotonic() - started, error=f"{type(error).__name__}: {error}")
    changed, detail = outcome if isinstance(outcome, tuple) else (outcome, "")
    return JobResult(name, int(changed), time.monotonic() - started, detail=detail)


def run_jobs(now=None, only=None) -> list[JobResult]:
    """Run the registered jobs (all, or the names in `only`, in registry order), each on its own; one result each."""
    names = list(JOBS) if only is None else [name for name in JOBS if name in set(only)]
    unknown = sorted(set(only or ()) - set(JOBS))
    if unknown:
        raise UnknownJob(", ".join(unknown))
    now = now or timezone.now()
    return [run_job(name, now) for name in names]


# ---- the schedule, for `onecard jobs loop` ------------------------------------------------------------------

MINUTE = datetime.timedelta(minutes=1)
# A loop that slept longer than this (a laptop closed for a week) catches up once, not minute by minute.
MAX_LOOKBACK = datetime.timedelta(days=8)


def schedule() -> dict:
    """{job name: crontab} from settings.CELERY_BEAT_SCHEDULE, for the registered jobs (Celery's own table)."""
    return {
        name: entry["schedule"]
        for name, entry in settings.CELERY_BEAT_SCHEDULE.items()
        if name in JOBS and isinstance(entry["schedule"], crontab)
    }


def _fires_at(cron, local) -> bool:
    return (
        local.minute in cron.minute
        and local.hour in cron.hour
        and local.isoweekday() % 7 in cron.day_of_week  # crontab counts Sunday as 0
        and local.day in cron.day_of_month
        and local.month in cron.month_of_year
    )


def fires_between(cron, since, until) -> bool:
    """True when `cron` names a minute in (since, until], read on the wall clock of CELERY_TIMEZONE."""
    zone = ZoneInfo(settings.CELERY_TIMEZONE)
    since = max(since, until - MAX_LOOKBACK)
    minute = since.astimezone(zone).replace(second=0, microsecond=0) + MINUTE
    end = until.astimezone(zone)
    while minute <= end:
        if _fires_at(cron, minute):
            return True
        minute += MINUTE
    return False


def due_jobs(since, until, table=None) -> list[str]:
    """The jobs whose schedule names a minute in (since, until], in registry order."""
    table = schedule() if table is None else table
    return [name for name in JOBS if name in table and fires_between(table[name], since, until)]


def run_loop(every=60, *, report, clock=timezone.now, sleep=time.sleep, ticks=None):
    """Run every job once (catch up: a shop's machine is often off at 03:00), then each on its schedule.

    Every `every` seconds the jobs due since the previous check run, so no scheduled minute is
    skipped however long a run takes. `report(results)` gets each round's results; `ticks` limits
    the rounds (tests); otherwise it runs until interrupted (Ctrl-C raises KeyboardInterrupt).
    """
    last = clock()
    report(run_jobs(last))
    done = 0
    while ticks is None or done < ticks:
        sleep(every)
        now = clock()
        names = due_jobs(last, now)
        if names:
            # A long-running process: drop a connection the server closed or that outlived CONN_MAX_AGE,
            # as Django does between requests.
            close_old_connections()
            report(run_jobs(now, only=names))
        last, done = now, done + 1
