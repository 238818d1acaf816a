"""Fitting the lifetime-value models to a merchant's sales and writing each member's predicted value.

`fit_merchant` builds the summary (analytics.value.summary), fits BG/NBD and Gamma-Gamma (analytics.clv), saves a
`ClvFit` and, when the calibration ends today, writes predicted_purchases and predicted_value (12 months)
on every summarised member's `MemberFacts` and recomputes their cost to serve (analytics.cost). See docs/lifetime-value.md.
"""

import datetime
from dataclasses import dataclass

import numpy as np
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from onecard.analytics.errors import ModelNotUsable, TooFewBuyers
from onecard.analytics.models import ClvFit, MemberFacts
from onecard.analytics.value import clv
from onecard.analytics.value.cost import compute_costs
from onecard.analytics.value.summary import ClvSummary, merchant_summary
from onecard.core import audit

MIN_REPEAT_BUYERS = 20
BATCH = 1000


@dataclass(frozen=True)
class MemberPrediction:
    """The 12-month prediction of each summarised member: parallel arrays in the summary's order."""

    member_ids: np.ndarray
    purchases: np.ndarray
    value: np.ndarray  # fen


def fit_summary(summary: ClvSummary):
    """(BG/NBD fit, Gamma-Gamma fit) of a summary; refuses when too few members bought more than once."""
    spenders = int(((summary.x > 0) & (summary.m > 0)).sum())
    if spenders < MIN_REPEAT_BUYERS:
        raise TooFewBuyers(
            _(
                "Only %(found)d members bought on more than one day before %(end)s; the lifetime-value "
                "models need at least %(needed)d."
            )
            % {"found": spenders, "end": summary.calibration_end.isoformat(), "needed": MIN_REPEAT_BUYERS}
        )
    purchases = clv.fit_bgnbd(summary.x, summary.t_x, summary.T)
    spend = clv.fit_gamma_gamma(summary.x, summary.m)
    if spend.params.q <= 1:
        raise ModelNotUsable()
    return purchases, spend


def predict(summary: ClvSummary, purchases: clv.BgNbdParams, spend: clv.GammaGammaParams) -> MemberPrediction:
    """Each member's expected purchases and value (fen) over the next 12 months."""
    expected, value = clv.predicted_value(purchases, spend, summary.x, summary.t_x, summary.T, summary.m)
    return MemberPrediction(summary.member_ids, expected, value)


def fit_merchant(merchant, calibration_end: datetime.date | None = None, *, actor=None) -> ClvFit:
    """Fit both models to the merchant's sales before `calibration_end` (None: today) and save the fit.

    When the calibration ends today the members' predicted purchases and value are written too: a fit
    that ends in the past is a back-test and must not overwrite today's predictions.
    """
    today = timezone.localdate()
    calibration_end = calibration_end or today
    summary = merchant_summary(merchant, calibration_end)
    purchases, spend = fit_summary(summary)
    with transaction.atomic():
        fit = ClvFit.objects.create(
            merchant=merchant,
            fitted_at=timezone.now(),
            calibration_end=calibration_end,
            members=len(summary),
            repeat_buyers=summary.repeat_buyers,
            **vars(purchases.params),
            **vars(spend.params),
            bgnbd_log_likelihood=purchases.log_likelihood,
            gamma_gamma_log_likelihood=spend.log_likelihood,
            bgnbd_converged=purchases.converged,
            gamma_gamma_converged=spend.converged,
        )
        if calibration_end == today:
            write_predictions(merchant, predict(summary, purchases.params, spend.params))
            compute_costs(merchant)
        audit.record(actor, "create", fit, merchant=merchant, note=f"clv fit to {calibration_end}")
    return fit


def write_predictions(merchant, prediction: MemberPrediction):
    """Set predicted_purchases and predicted_value on the members' facts (rows created where missing).

    The merchant's other members (no sale before the calibration end) lose any earlier prediction: the
    models say nothing about someone who has not bought yet.
    """
    MemberFacts.objects.filter(merchant=merchant).exclude(predicted_value=None).update(
        predicted_purchases=None, predicted_value=None
    )
    for start in range(0, len(prediction.member_ids), BATCH):
        ids = [int(pk) for pk in prediction.member_ids[start : start + BATCH]]
        purchases = prediction.purchases[start : start + BATCH]
        values = prediction.value[start : start + BATCH]
        by_member = {pk: _stored(p, v) for pk, p, v in zip(ids, purchases, values, strict=True)}
        existing = list(MemberFacts.objects.filter(member_id__in=ids))
        for facts in existing:
            facts.predicted_purchases, facts.predicted_value = by_member.pop(facts.member_id)
        MemberFacts.objects.bulk_update(existing, ["predicted_purchases", "predicted_value"])
        MemberFacts.objects.bulk_create(
            [
                MemberFacts(member_id=pk, merchant=merchant, predicted_purchases=p, predicted_value=v)
                for pk, (p, v) in by_member.items()
            ]
        )


def _stored(purchases, value):
    """(predicted_purchases, predicted_value) as stored: None for a figure the arithmetic could not give."""
    if not (np.isfinite(purchases) and np.isfinite(value)):
        return None, None
    return float(purchases), int(value)
