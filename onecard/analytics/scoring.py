"""RFM scores and the eight classes, ABCD, life-cycle stages and favourites, for all a merchant's members at once.

Scored from the facts only (MemberFacts, and MemberMonth for the rolling window), in numpy: one read of
each, one write back. Definitions (docs/analytics.md):
- R is the days since the last purchase, F the purchases and M the net spend in the window (the current
  month and the `window_months` − 1 before it). Quantile scores: 1 + floor(5 × share of buyers strictly
  worse); fixed scores: by the merchant's four boundaries. A score is "high" above the buyers' average.
- ABCD: frequency and amount are high in the top `abcd_top_percent` of buyers (or at the fixed values).
- Life cycle by the merchant's day thresholds; members who never bought are prospects (or interested,
  once they have topped up).
"""

import datetime
from dataclasses import dataclass

import numpy as np
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from onecard.analytics.choices import AbcdClass, LifeStage, RfmClass, ScoreMethod
from onecard.analytics.models import (
    AnalyticsSettings,
    MemberClassSnapshot,
    MemberFacts,
    MemberMonth,
    MemberProductFacts,
    MemberStoreFacts,
)
from onecard.members.models import Member

# (R high, F high, M high) → class
RFM_CLASSES = {
    (True, True, True): RfmClass.IMPORTANT_VALUE,
    (True, False, True): RfmClass.IMPORTANT_GROW,
    (False, True, True): RfmClass.IMPORTANT_KEEP,
    (False, False, True): RfmClass.IMPORTANT_WIN_BACK,
    (True, True, False): RfmClass.GENERAL_VALUE,
    (True, False, False): RfmClass.GENERAL_GROW,
    (False, True, False): RfmClass.GENERAL_KEEP,
    (False, False, False): RfmClass.GENERAL_WIN_BACK,
}
SCORED_FIELDS = [
    "window_purchases",
    "window_spend",
    "recency_score",
    "frequency_score",
    "monetary_score",
    "rfm_class",
    "abcd_class",
    "life_stage",
    "favourite_store",
    "favourite_category",
    "scored_at",
]


def settings_for(merchant) -> AnalyticsSettings:
    """The merchant's analytics settings (the defaults, unsaved, until someone changes them)."""
    return AnalyticsSettings.objects.filter(merchant=merchant).first() or AnalyticsSettings(merchant=merchant)


def month_start(day: datetime.date, months_back: int = 0) -> datetime.date:
    """The first day of the month `months_back` before `day`'s."""
    index = day.year * 12 + day.month - 1 - months_back
    return datetime.date(index // 12, index % 12 + 1, 1)


def quantile_scores(values: np.ndarray, higher_is_better: bool = True) -> np.ndarray:
    """1..5: 1 + floor(5 × the share of values strictly worse than each); ties score alike."""
    n = len(values)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    ordered = np.sort(values)
    if higher_is_better:
        worse = np.searchsorted(ordered, values, side="left")
    else:
        worse = n - np.searchsorted(ordered, values, side="right")
    return 1 + (5 * worse) // n


def fixed_scores(values: np.ndarray, boundaries, higher_is_better: bool = True) -> np.ndarray:
    """1..5 by four ascending boundaries: at least each (F, M) or at most each (R, days)."""
    edges = np.asarray(sorted(boundaries), dtype=np.float64)
    if higher_is_better:
        return 1 + np.searchsorted(edges, values, side="right")
    return 5 - np.searchsorted(edges, values, side="left")


def top_share(values: np.ndarray, percent: int) -> np.ndarray:
    """True for the values in the top `percent` (at least that share of the others strictly below them), above 0."""
    n = len(values)
    if n == 0:
        return np.zeros(0, dtype=bool)
    below = np.searchsorted(np.sort(values), values, side="left")
    return (below * 100 >= (100 - percent) * n) & (values > 0)


@dataclass
class Scored:
    """The classes of one merchant's members as arrays, in the order of `member_ids`."""

    member_ids: np.ndarray
    window_purchases: np.ndarray
    window_spend: np.ndarray
    recency: np.ndarray
    frequency: np.ndarray
    monetary: np.ndarray
    rfm: list
    abcd: list
    stage: list


def _read(merchant, start: datetime.date):
    """The facts of the merchant's members and their window sums, as arrays aligned on member id."""
    rows = list(
        MemberFacts.objects.filter(merchant=merchant)
        .order_by("member_id")
        .values_list(
            "member_id", "first_purchase_at", "last_purchase_at", "purchases", "topups", "rfm_class", "abcd_class",
            "life_stage",
        )
    )  # fmt: skip
    window = dict(
        (member_id, (purchases, spend))
        for member_id, purchases, spend in MemberMonth.objects.filter(merchant=merchant, month__gte=start)
        .values("member_id")
        .annotate(p=Sum("purchases"), s=Sum("spend"))
        .values_list("member_id", "p", "s")
    )
    return rows, window


def score_rows(rows, window, settings: AnalyticsSettings, today: datetime.date) -> Scored:
    """Score members from their facts rows (member, first, last purchase, purchases, top-ups) and window sums."""
    n = len(rows)
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=n)
    bought = np.fromiter((r[3] > 0 for r in rows), dtype=bool, count=n)
    first_days = [(today - timezone.localtime(r[1]).date()).days if r[1] else -1 for r in rows]
    recency_days = np.fromiter(
        ((today - timezone.localtime(r[2]).date()).days if r[2] else -1 for r in rows),
        dtype=np.int64,
        count=n,
    )
    w_purchases = np.fromiter((window.get(r[0], (0, 0))[0] for r in rows), dtype=np.int64, count=n)
    w_spend = np.fromiter((window.get(r[0], (0, 0))[1] for r in rows), dtype=np.int64, count=n)
    r_score, f_score, m_score = (np.zeros(n, dtype=np.int64) for _ in range(3))
    buyers = np.flatnonzero(bought)
    if settings.score_method == ScoreMethod.FIXED:
        r_score[buyers] = fixed_scores(
            recency_days[buyers], settings.recency_days or [30, 60, 90, 180], False
        )
        f_score[buyers] = fixed_scores(w_purchases[buyers], settings.frequency_counts or [2, 3, 5, 8])
        m_score[buyers] = fixed_scores(
            w_spend[buyers], settings.monetary_amounts or [20000, 50000, 100000, 300000]
        )
    else:
        r_score[buyers] = quantile_scores(recency_days[buyers], higher_is_better=False)
        f_score[buyers] = quantile_scores(w_purchases[buyers])
        m_score[buyers] = quantile_scores(w_spend[buyers])
    rfm = [""] * n
    abcd = [""] * n
    if len(buyers):
        means = [score[buyers].mean() for score in (r_score, f_score, m_score)]
        highs = [score > mean for score, mean in zip((r_score, f_score, m_score), means, strict=True)]
        if settings.abcd_method == ScoreMethod.FIXED:
            freq_high = w_purchases >= settings.abcd_frequency
            amount_high = w_spend >= settings.abcd_amount
        else:
            freq_high, amount_high = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
            freq_high[buyers] = top_share(w_purchases[buyers], settings.abcd_top_percent)
            amount_high[buyers] = top_share(w_spend[buyers], settings.abcd_top_percent)
        for i in buyers:
            rfm[i] = RFM_CLASSES[(bool(highs[0][i]), bool(highs[1][i]), bool(highs[2][i]))]
            abcd[i] = _abcd(bool(freq_high[i]), bool(amount_high[i]))
    stage = [_stage(rows[i], first_days[i], int(recency_days[i]), settings) for i in range(n)]
    return Scored(ids, w_purchases, w_spend, r_score, f_score, m_score, rfm, abcd, stage)


def _abcd(frequent: bool, high_amount: bool) -> str:
    if frequent:
        return AbcdClass.A if high_amount else AbcdClass.B
    return AbcdClass.C if high_amount else AbcdClass.D


def _stage(row, first_days: int, recency_days: int, settings) -> str:
    """The life-cycle stage of one member (docs/analytics.md, Life cycle)."""
    purchases, topups = row[3], row[4]
    if purchases == 0:
        return LifeStage.INTERESTED if topups > 0 else LifeStage.PROSPECT
    if first_days <= settings.new_days:
        return LifeStage.FIRST_PURCHASE if purchases == 1 else LifeStage.NEW
    if recency_days <= settings.active_days:
        return LifeStage.ACTIVE
    if recency_days <= settings.warning_days:
        return LifeStage.LAPSING
    if recency_days <= settings.dormant_days:
        return LifeStage.DORMANT
    return LifeStage.LOST


def _favourites(merchant) -> tuple[dict, dict]:
    """{member: store} of the most spend, and {member: category} of the most spend, ties to the smaller id."""
    stores = {}
    store_rows = (
        MemberStoreFacts.objects.filter(member__merchant=merchant)
        .order_by("member_id", "-spend", "-purchases", "store_id")
        .values_list("member_id", "store_id")
    )
    for member_id, store_id in store_rows.iterator(chunk_size=10000):
        stores.setdefault(member_id, store_id)
    categories = {}
    category_rows = (
        MemberProductFacts.objects.filter(member__merchant=merchant, product__category__isnull=False)
        .values("member_id", "product__category_id")
        .annotate(total=Sum("spend"))
        .order_by("member_id", "-total", "product__category_id")
        .values_list("member_id", "product__category_id")
    )
    for member_id, category_id in category_rows.iterator(chunk_size=10000):
        categories.setdefault(member_id, category_id)
    return stores, categories


def _add_missing_members(merchant) -> int:
    """A facts row for every member who has none yet (a prospect is scored too)."""
    missing = Member.objects.filter(merchant=merchant, facts__isnull=True).values_list("pk", flat=True)
    created = MemberFacts.objects.bulk_create(
        [MemberFacts(member_id=pk, merchant=merchant) for pk in missing.iterator(chunk_size=10000)],
        batch_size=2000,
        ignore_conflicts=True,
    )
    return len(created)


@dataclass
class ScoringResult:
    """What one scoring of a merchant did."""

    members: int
    buyers: int
    classes: dict
    changed: int  # members whose RFM, ABCD class or life-cycle stage is not what it was


def score_merchant(merchant, *, today=None, progress=None) -> ScoringResult:
    """Score every member of `merchant` from their facts, write the classes back and this month's snapshot."""
    today = today or timezone.localdate()
    settings = settings_for(merchant)
    _add_missing_members(merchant)
    rows, window = _read(merchant, month_start(today, settings.window_months - 1))
    if progress:
        progress(1, 3)
    scored = score_rows(rows, window, settings, today)
    stores, categories = _favourites(merchant)
    now = timezone.now()
    updates = [
        MemberFacts(
            member_id=int(member_id),
            window_purchases=int(scored.window_purchases[i]),
            window_spend=int(scored.window_spend[i]),
            recency_score=int(scored.recency[i]) or None,
            frequency_score=int(scored.frequency[i]) or None,
            monetary_score=int(scored.monetary[i]) or None,
            rfm_class=scored.rfm[i],
            abcd_class=scored.abcd[i],
            life_stage=scored.stage[i],
            favourite_store_id=stores.get(int(member_id)),
            favourite_category_id=categories.get(int(member_id)),
            scored_at=now,
        )
        for i, member_id in enumerate(scored.member_ids)
    ]
    if progress:
        progress(2, 3)
    with transaction.atomic():
        MemberFacts.objects.bulk_update(updates, SCORED_FIELDS, batch_size=1000)
        take_snapshot(merchant, month_start(today), updates)
    if progress:
        progress(3, 3)
    classes = {}
    for value in scored.rfm:
        if value:
            classes[value] = classes.get(value, 0) + 1
    changed = sum(
        1
        for row, update in zip(rows, updates, strict=True)
        if row[5:8] != (update.rfm_class, update.abcd_class, update.life_stage)
    )
    return ScoringResult(len(updates), int(np.count_nonzero(scored.recency)), classes, changed)


def take_snapshot(merchant, month: datetime.date, scored_rows) -> int:
    """This month's classes of every scored member (replacing an earlier scoring's in the same month)."""
    MemberClassSnapshot.objects.filter(merchant=merchant, month=month).delete()
    snapshots = [
        MemberClassSnapshot(
            merchant=merchant,
            member_id=row.member_id,
            month=month,
            rfm_class=row.rfm_class,
            abcd_class=row.abcd_class,
            life_stage=row.life_stage,
        )
        for row in scored_rows
    ]
    MemberClassSnapshot.objects.bulk_create(snapshots, batch_size=2000)
    return len(snapshots)
