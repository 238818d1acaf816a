"""RFM scores and the eight classes, ABCD, life-cycle stages and favourites, for all a merchant's members at once.

Scored from the facts only (MemberFacts, and MemberMonth for the rolling window), in numpy: one read of
each through the raw cursor (PostgreSQL: COPY ... TO STDOUT), scores and classes as whole arrays, and
one write back: the scores go into a temporary table (PostgreSQL: binary COPY; SQLite: executemany) and
one UPDATE ... FROM sets them, with the favourites, on every member; the snapshot is one upsert. Definitions (docs/analytics.md):
- R is the days since the last purchase, F the purchases and M the net spend in the window (the current
  month and the `window_months` − 1 before it). Quantile scores: 1 + floor(5 × share of buyers strictly
  worse); fixed scores: by the merchant's four boundaries. A score is "high" above the buyers' average.
- ABCD: frequency and amount are high in the top `abcd_top_percent` of buyers (or at the fixed values).
- Life cycle by the merchant's day thresholds; members who never bought are prospects (or interested,
  once they have topped up).
"""

import datetime
import io
from dataclasses import dataclass

import numpy as np
import pandas as pd
from django.db import connection, transaction
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
from onecard.analytics.rebuild import local_day_sql
from onecard.catalog.models import Product
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
# The codes the classes travel as (0: none): the position in these lists.
RFM_CODES = [""] + [
    RFM_CLASSES[(r, f, m)] for r in (False, True) for f in (False, True) for m in (False, True)
]
ABCD_CODES = ["", AbcdClass.D, AbcdClass.C, AbcdClass.B, AbcdClass.A]  # 1 + 2 × frequent + high amount
STAGE_CODES = [""] + [stage for stage, _label in LifeStage.choices]
FACTS = MemberFacts._meta.db_table
MONTHS = MemberMonth._meta.db_table
SNAPSHOTS = MemberClassSnapshot._meta.db_table
SCORED = "analytics_scored"  # temporary: one scoring's results, one row per member


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
class Facts:
    """A merchant's members as arrays aligned on member id (days: −1 when never bought)."""

    member_ids: np.ndarray
    first_days: np.ndarray  # days since the first purchase
    recency_days: np.ndarray  # days since the last purchase
    purchases: np.ndarray
    topups: np.ndarray
    window_purchases: np.ndarray
    window_spend: np.ndarray


@dataclass
class Scored:
    """The scores of one merchant's members as arrays in the order of `member_ids` (classes as codes)."""

    member_ids: np.ndarray
    window_purchases: np.ndarray
    window_spend: np.ndarray
    recency: np.ndarray
    frequency: np.ndarray
    monetary: np.ndarray
    rfm: np.ndarray  # index into RFM_CODES
    abcd: np.ndarray  # index into ABCD_CODES
    stage: np.ndarray  # index into STAGE_CODES


def read_frame(sql: str, params: list, columns: list) -> pd.DataFrame:
    """The rows of a query as a DataFrame: through COPY ... TO STDOUT on PostgreSQL, the cursor elsewhere."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            buffer = io.BytesIO()
            with cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", params) as copy:
                for block in copy:
                    buffer.write(block)
            buffer.seek(0)
            if not buffer.getbuffer().nbytes:
                return pd.DataFrame({name: [] for name in columns})
            return pd.read_csv(buffer, header=None, names=columns, keep_default_na=False, na_values=[""])
        cursor.execute(sql, params)
        return pd.DataFrame.from_records(cursor.fetchall(), columns=columns)


def _int_column(frame, name, missing=-1) -> np.ndarray:
    return frame[name].fillna(missing).to_numpy(dtype=np.int64)


def read_facts(merchant, today: datetime.date, start: datetime.date) -> tuple[Facts, pd.DataFrame]:
    """The facts of the merchant's members and their sums since `start`, and their classes as they stand."""
    days = (
        "(%s::date - {day})"
        if connection.vendor == "postgresql"
        else "CAST(julianday(%s) - julianday({day}) AS INTEGER)"
    )
    frame = read_frame(
        f"SELECT member_id, {days.format(day=local_day_sql('first_purchase_at'))}, "  # noqa: S608 - our names
        f"{days.format(day=local_day_sql('last_purchase_at'))}, purchases, topups, rfm_class, abcd_class, "
        f"life_stage FROM {FACTS} WHERE merchant_id = %s ORDER BY member_id",
        [today.isoformat(), today.isoformat(), merchant.pk],
        ["member_id", "first_days", "recency_days", "purchases", "topups", "rfm", "abcd", "stage"],
    )
    window = read_frame(
        f"SELECT member_id, SUM(purchases), SUM(spend) FROM {MONTHS} "  # noqa: S608 - our names
        "WHERE merchant_id = %s AND month >= %s GROUP BY member_id",
        [merchant.pk, start.isoformat()],
        ["member_id", "purchases", "spend"],
    )
    ids = _int_column(frame, "member_id")
    w_purchases, w_spend = np.zeros(len(ids), dtype=np.int64), np.zeros(len(ids), dtype=np.int64)
    if len(window) and len(ids):
        window_ids = _int_column(window, "member_id")
        at = np.clip(np.searchsorted(ids, window_ids), 0, len(ids) - 1)
        found = ids[at] == window_ids  # months of a member without a facts row of this merchant: left out
        w_purchases[at[found]] = _int_column(window, "purchases", 0)[found]
        w_spend[at[found]] = _int_column(window, "spend", 0)[found]
    facts = Facts(
        ids,
        _int_column(frame, "first_days"),
        _int_column(frame, "recency_days"),
        _int_column(frame, "purchases", 0),
        _int_column(frame, "topups", 0),
        w_purchases,
        w_spend,
    )
    return facts, frame[["rfm", "abcd", "stage"]].astype(object).fillna("")


def score_facts(facts: Facts, settings: AnalyticsSettings) -> Scored:
    """Score members from their facts arrays: R, F, M scores, RFM class, ABCD and life-cycle stage codes."""
    n = len(facts.member_ids)
    buyers = np.flatnonzero(facts.purchases > 0)
    recency, w_purchases, w_spend = facts.recency_days, facts.window_purchases, facts.window_spend
    r_score, f_score, m_score = (np.zeros(n, dtype=np.int64) for _ in range(3))
    if settings.score_method == ScoreMethod.FIXED:
        r_score[buyers] = fixed_scores(recency[buyers], settings.recency_days or [30, 60, 90, 180], False)
        f_score[buyers] = fixed_scores(w_purchases[buyers], settings.frequency_counts or [2, 3, 5, 8])
        m_score[buyers] = fixed_scores(
            w_spend[buyers], settings.monetary_amounts or [20000, 50000, 100000, 300000]
        )
    else:
        r_score[buyers] = quantile_scores(recency[buyers], higher_is_better=False)
        f_score[buyers] = quantile_scores(w_purchases[buyers])
        m_score[buyers] = quantile_scores(w_spend[buyers])
    rfm, abcd = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    if len(buyers):
        r_high, f_high, m_high = (score > score[buyers].mean() for score in (r_score, f_score, m_score))
        rfm[buyers] = (1 + 4 * r_high + 2 * f_high + m_high)[buyers]
        if settings.abcd_method == ScoreMethod.FIXED:
            frequent = w_purchases >= settings.abcd_frequency
            high_amount = w_spend >= settings.abcd_amount
        else:
            frequent, high_amount = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
            frequent[buyers] = top_share(w_purchases[buyers], settings.abcd_top_percent)
            high_amount[buyers] = top_share(w_spend[buyers], settings.abcd_top_percent)
        abcd[buyers] = (1 + 2 * frequent + high_amount)[buyers]
    stage = _stages(facts, settings)
    return Scored(facts.member_ids, w_purchases, w_spend, r_score, f_score, m_score, rfm, abcd, stage)


def _stages(facts: Facts, settings) -> np.ndarray:
    """The life-cycle stage codes (docs/analytics.md, Life cycle): the first condition that holds."""
    bought, recency = facts.purchases > 0, facts.recency_days
    new = bought & (facts.first_days <= settings.new_days)
    stages = np.select(
        [
            ~bought & (facts.topups > 0),
            ~bought,
            new & (facts.purchases == 1),
            new,
            recency <= settings.active_days,
            recency <= settings.warning_days,
            recency <= settings.dormant_days,
        ],
        [
            STAGE_CODES.index(stage)
            for stage in (
                LifeStage.INTERESTED,
                LifeStage.PROSPECT,
                LifeStage.FIRST_PURCHASE,
                LifeStage.NEW,
                LifeStage.ACTIVE,
                LifeStage.LAPSING,
                LifeStage.DORMANT,
            )
        ],
        default=STAGE_CODES.index(LifeStage.LOST),
    )
    return stages.astype(np.int64)


def _add_missing_members(merchant) -> int:
    """A facts row for every member who has none yet (a prospect is scored too)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {FACTS} (member_id, merchant_id, purchases, visits, spend, returned, items, topups, "  # noqa: S608 - our names
            "topup_amount, window_purchases, window_spend, rfm_class, abcd_class, life_stage) "
            "SELECT m.id, m.merchant_id, 0, 0, 0, 0, 0, 0, 0, 0, 0, '', '', '' "
            f"FROM {Member._meta.db_table} m WHERE m.merchant_id = %s "
            f"AND NOT EXISTS (SELECT 1 FROM {FACTS} f WHERE f.member_id = m.id) ON CONFLICT DO NOTHING",
            [merchant.pk],
        )
        return cursor.rowcount


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
    with transaction.atomic():
        _add_missing_members(merchant)
        facts, before = read_facts(merchant, today, month_start(today, settings.window_months - 1))
        if progress:
            progress(1, 3)
        scored = score_facts(facts, settings)
        if progress:
            progress(2, 3)
        write_scores(scored)
        set_scores(merchant, timezone.now())
        take_snapshot(merchant, month_start(today))
        _drop_scored()
    if progress:
        progress(3, 3)
    rfm_names = np.array(RFM_CODES, dtype=object)
    names, counts = np.unique(scored.rfm[scored.rfm > 0], return_counts=True)
    after = (
        rfm_names[scored.rfm],
        np.array(ABCD_CODES, dtype=object)[scored.abcd],
        np.array(STAGE_CODES, dtype=object)[scored.stage],
    )
    moved = np.zeros(len(scored.member_ids), dtype=bool)
    for column, new in zip(("rfm", "abcd", "stage"), after, strict=True):
        moved |= before[column].to_numpy(dtype=object) != new
    return ScoringResult(
        len(scored.member_ids),
        int(np.count_nonzero(scored.recency)),
        {str(rfm_names[code]): int(count) for code, count in zip(names, counts, strict=True)},
        int(np.count_nonzero(moved)),
    )


_SCORED_COLUMNS = ("member_id", "window_purchases", "window_spend", "r", "f", "m", "rfm", "abcd", "stage")


def write_scores(scored: Scored) -> None:
    """The scores into a temporary table (PostgreSQL: binary COPY; SQLite: executemany), in this transaction."""
    _drop_scored()
    types = ["bigint", "bigint", "bigint"] + ["smallint"] * 6
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE {SCORED} ("
            + ", ".join(f"{name} {kind}" for name, kind in zip(_SCORED_COLUMNS, types, strict=True))
            + ", store_id bigint, category_id bigint, PRIMARY KEY (member_id))"
        )
        arrays = [
            scored.member_ids,
            scored.window_purchases,
            scored.window_spend,
            scored.recency,
            scored.frequency,
            scored.monetary,
            scored.rfm,
            scored.abcd,
            scored.stage,
        ]
        if connection.vendor == "postgresql":
            with cursor.copy(
                f"COPY {SCORED} ({', '.join(_SCORED_COLUMNS)}) FROM STDIN WITH (FORMAT binary)"
            ) as copy:
                copy.write(_binary_copy(arrays, types))
        else:
            rows = list(zip(*(a.tolist() for a in arrays), strict=True))
            cursor.executemany(
                f"INSERT INTO {SCORED} ({', '.join(_SCORED_COLUMNS)}) VALUES ({', '.join(['%s'] * len(arrays))})",  # noqa: S608 - our names
                rows,
            )


def _binary_copy(arrays, types) -> bytes:
    """The rows of equal-length integer arrays in PostgreSQL's binary COPY format (no NULLs)."""
    sizes = {"bigint": 8, "smallint": 2}
    fields = [("count", ">i2")]
    for i, kind in enumerate(types):
        fields += [(f"len{i}", ">i4"), (f"v{i}", f">i{sizes[kind]}")]
    rows = np.empty(len(arrays[0]), dtype=fields)
    rows["count"] = len(arrays)
    for i, (array, kind) in enumerate(zip(arrays, types, strict=True)):
        rows[f"len{i}"] = sizes[kind]
        rows[f"v{i}"] = array
    return b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8 + rows.tobytes() + b"\xff\xff"


def _codes_sql(column: str, names: list) -> str:
    """SQL turning a class code back into its stored value."""
    cases = " ".join(f"WHEN {code} THEN '{name}'" for code, name in enumerate(names) if code)
    return f"CASE {column} {cases} ELSE '' END"


def favourites_sql() -> tuple[str, str]:
    """Each scored member's store of the most spend and category of the most spend (ties: the smaller id)."""
    store = (
        "(SELECT member_id, store_id FROM (SELECT s.member_id, s.store_id, ROW_NUMBER() OVER ("  # noqa: S608 - our names
        "PARTITION BY s.member_id ORDER BY s.spend DESC, s.purchases DESC, s.store_id) AS place "
        f"FROM {MemberStoreFacts._meta.db_table} s JOIN {SCORED} t ON t.member_id = s.member_id) AS ranked "
        "WHERE place = 1)"
    )
    category = (
        "(SELECT member_id, category_id FROM (SELECT member_id, category_id, ROW_NUMBER() OVER ("  # noqa: S608 - our names
        "PARTITION BY member_id ORDER BY total DESC, category_id) AS place FROM (SELECT p.member_id, "
        f"c.category_id, SUM(p.spend) AS total FROM {MemberProductFacts._meta.db_table} p "
        f"JOIN {SCORED} t ON t.member_id = p.member_id JOIN {Product._meta.db_table} c ON c.id = p.product_id "
        "WHERE c.category_id IS NOT NULL GROUP BY p.member_id, c.category_id) AS totals) AS ranked "
        "WHERE place = 1)"
    )
    return store, category


def set_scores(merchant, now) -> int:
    """One UPDATE: every scored member's window sums, scores, classes, favourites and scoring time.

    PostgreSQL joins the favourites in that UPDATE; SQLite, which would rank them again for every row,
    writes them into the temporary table first.
    """
    store, category = favourites_sql()
    sets = (
        "window_purchases = t.window_purchases, window_spend = t.window_spend, recency_score = NULLIF(t.r, 0), "
        "frequency_score = NULLIF(t.f, 0), monetary_score = NULLIF(t.m, 0), "
        f"rfm_class = {_codes_sql('t.rfm', RFM_CODES)}, abcd_class = {_codes_sql('t.abcd', ABCD_CODES)}, "
        f"life_stage = {_codes_sql('t.stage', STAGE_CODES)}, scored_at = %s"
    )
    now = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"UPDATE {FACTS} SET {sets}, favourite_store_id = fs.store_id, "  # noqa: S608 - our names
                f"favourite_category_id = fc.category_id FROM {SCORED} t "
                f"LEFT JOIN {store} fs ON fs.member_id = t.member_id "
                f"LEFT JOIN {category} fc ON fc.member_id = t.member_id WHERE {FACTS}.member_id = t.member_id",
                [now],
            )
            return cursor.rowcount
        for column, ranked in (("store_id", store), ("category_id", category)):
            cursor.execute(
                f"UPDATE {SCORED} SET {column} = r.{column} FROM {ranked} r WHERE r.member_id = {SCORED}.member_id"  # noqa: S608 - our names
            )
        cursor.execute(
            f"UPDATE {FACTS} SET {sets}, favourite_store_id = t.store_id, favourite_category_id = t.category_id "  # noqa: S608 - our names
            f"FROM {SCORED} t WHERE {FACTS}.member_id = t.member_id",
            [now],
        )
        return cursor.rowcount


def take_snapshot(merchant, month: datetime.date) -> int:
    """This month's classes of every scored member (replacing an earlier scoring's in the same month).

    An upsert that rewrites only the rows whose classes moved: a second scoring in a month is cheap.
    """
    month = connection.ops.adapt_datefield_value(month)
    classes = (
        f"{_codes_sql('t.rfm', RFM_CODES)}, {_codes_sql('t.abcd', ABCD_CODES)}, "
        f"{_codes_sql('t.stage', STAGE_CODES)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {SNAPSHOTS} WHERE merchant_id = %s AND month = %s "  # noqa: S608 - our names
            f"AND NOT EXISTS (SELECT 1 FROM {SCORED} t WHERE t.member_id = {SNAPSHOTS}.member_id)",
            [merchant.pk, month],
        )
        cursor.execute(
            f"INSERT INTO {SNAPSHOTS} AS s (merchant_id, member_id, month, rfm_class, abcd_class, life_stage) "  # noqa: S608 - our names
            f"SELECT %s, t.member_id, %s, {classes} FROM {SCORED} t WHERE true "
            "ON CONFLICT (member_id, month) DO UPDATE SET merchant_id = excluded.merchant_id, "
            "rfm_class = excluded.rfm_class, abcd_class = excluded.abcd_class, life_stage = excluded.life_stage "
            "WHERE s.rfm_class <> excluded.rfm_class OR s.abcd_class <> excluded.abcd_class "
            "OR s.life_stage <> excluded.life_stage OR s.merchant_id <> excluded.merchant_id",
            [merchant.pk, month],
        )
        return cursor.rowcount


def _drop_scored() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {SCORED}")
