"""The writes of the analytics pages: the merchant's settings, a scoring and a backfill started by hand."""

from onecard.analytics import page_counts
from onecard.analytics.backfill import backfill_snapshots
from onecard.analytics.models import AnalyticsSettings
from onecard.analytics.scoring import ScoringResult, score_merchant
from onecard.core import audit


def save_settings(actor, merchant, form) -> AnalyticsSettings:
    """Save the scoring settings of `merchant` from a valid form, audited; the lost counts follow at once."""
    settings = form.save(commit=False)
    settings.merchant = merchant
    settings.save()
    page_counts.refresh_flows(merchant)
    audit.record(actor, "update", settings, after=form.cleaned_data, merchant=merchant)
    return settings


def rescore(actor, merchant, progress=None) -> ScoringResult:
    """Score every member of `merchant` now (as the nightly job does), audited; the pages' counts follow."""
    result = score_merchant(merchant, progress=progress)
    page_counts.refresh(merchant)
    audit.record(
        actor, "update", merchant, note=f"analytics rescored: {result.members} members", merchant=merchant
    )
    return result


def backfill(actor, merchant, progress=None, months=12) -> dict:
    """Write the snapshots of the past `months` months that have none (analytics.backfill), audited; the pages' counts follow."""
    written = backfill_snapshots(merchant, months, progress=progress)
    page_counts.refresh(merchant)
    audit.record(
        actor,
        "update",
        merchant,
        note=f"analytics snapshots backfilled: {', '.join(f'{m:%Y-%m}' for m in written) or 'none missing'}",
        merchant=merchant,
    )
    return written
