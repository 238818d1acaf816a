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
DUE = "analytics_favourites_due"  # temporary: the members whose favourites are ranked again


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


# PostgreSQL's binary COPY: a 19-byte header, then per row a 16-bit field count and per field a 32-bit
# length and the value (big-endian), then a 16-bit -1. Integer columns that are never NULL make every
# row the same size, so the whole result is one numpy structured array.
_COPY_HEADER, _COPY_TRAILER = 19, 2
_INT_TYPES = {"bigint": ">i8", "integer": ">i4", "smallint": ">i2"}


def read_arrays(sql: str, params: list, columns: list[tuple[str, str]]) -> dict[str, np.ndarray]:
    """The integer columns of a query as int64 arrays; `columns`: (name, SQL type), never NULL in the rows.

    PostgreSQL sends them by binary COPY, read straight into numpy; SQLite through the cursor.
    """
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = np.array(cursor.fetchall(), dtype=np.int64).reshape(-1, len(columns))
        return {name: rows[:, i] for i, (name, _kind) in enumerate(columns)}
    casts = ", ".join(f"CAST(q.{name} AS {kind})" for name, kind in columns)
    copy_sql = f"COPY (SELECT {casts} FROM ({sql}) AS q) TO STDOUT WITH (FORMAT binary)"  # noqa: S608 - our names
    buffer = io.BytesIO()
    with connection.cursor() as cursor, cursor.copy(copy_sql, params) as copy:
        for block in copy:
            buffer.write(block)
    fields = [("count", ">i2")]
    for i, (_name, kind) in enumerate(columns):
        fields += [(f"len{i}", ">i4"), (f"v{i}", _INT_TYPES[kind])]
    row = np.dtype(fields)
    data = buffer.getbuffer()
    n = (len(data) - _COPY_HEADER - _COPY_TRAILER) // row.itemsize
    rows = np.frombuffer(data, dtype=row, count=n, offset=_COPY_HEADER)
    if n and (rows["count"] != len(columns)).any():
        raise ValueError("a column of the binary COPY was NULL or not of its declared type")
    return {name: rows[f"v{i}"].astype(np.int64) for i, (name, _kind) in enumerate(columns)}


def _code_of_sql(column: str, names: list) -> str:
    """SQL turning a stored class value into its code (its position in `names`; 0 for empty)."""
    cases = " ".join(f"WHEN '{name}' THEN {code}" for code, name in enumerate(names) if code)
    return f"CASE {column} {cases} ELSE 0 END"


@dataclass
class Stored:
    """What the last scoring wrote on each member's facts, as arrays aligned with `Facts.member_ids`."""

    window_purchases: np.ndarray
    window_spend: np.ndarray
    recency: np.ndarray
    frequency: np.ndarray
    monetary: np.ndarray
    rfm: np.ndarray
    abcd: np.ndarray
    stage: np.ndarray


def read_facts(merchant, today: datetime.date, start: datetime.date) -> tuple[Facts, Stored]:
    """The facts of the merchant's members and their sums since `start`, and their scores as they stand."""
    days = (
        "COALESCE(%s::date - {day}, -1)"
        if connection.vendor == "postgresql"
        else "COALESCE(CAST(julianday(%s) - julianday({day}) AS INTEGER), -1)"
    )
    columns = [
        ("member_id", "bigint"),
        ("first_days", "integer"),
        ("recency_days", "integer"),
        ("purchases", "integer"),
        ("topups", "integer"),
        ("window_purchases", "integer"),
        ("window_spend", "bigint"),
        ("r", "smallint"),
        ("f", "smallint"),
        ("m", "smallint"),
        ("rfm", "smallint"),
        ("abcd", "smallint"),
        ("stage", "smallint"),
    ]
    row = read_arrays(
        f"SELECT member_id, {days.format(day=local_day_sql('first_purchase_at'))} AS first_days, "  # noqa: S608 - our names
        f"{days.format(day=local_day_sql('last_purchase_at'))} AS recency_days, purchases, topups, "
        "window_purchases, window_spend, COALESCE(recency_score, 0) AS r, COALESCE(frequency_score, 0) AS f, "
        f"COALESCE(monetary_score, 0) AS m, {_code_of_sql('rfm_class', RFM_CODES)} AS rfm, "
        f"{_code_of_sql('abcd_class', ABCD_CODES)} AS abcd, {_code_of_sql('life_stage', STAGE_CODES)} AS stage "
        f"FROM {FACTS} WHERE merchant_id = %s",
        [today.isoformat(), today.isoformat(), merchant.pk],
        columns,
    )
    window = read_arrays(
        f"SELECT member_id, SUM(purchases) AS purchases, SUM(spend) AS spend FROM {MONTHS} "  # noqa: S608 - our names
        "WHERE merchant_id = %s AND month >= %s GROUP BY member_id",
        [merchant.pk, start.isoformat()],
        [("member_id", "bigint"), ("purchases", "bigint"), ("spend", "bigint")],
    )
    # Sorted here rather than by the database: numpy sorts a million ids in a tenth of the time.
    order = np.argsort(row["member_id"], kind="stable")
    row = {name: values[order] for name, values in row.items()}
    ids = row["member_id"]
    w_purchases, w_spend = np.zeros(len(ids), dtype=np.int64), np.zeros(len(ids), dtype=np.int64)
    window_ids = window["member_id"]
    if len(window_ids) and len(ids):
        at = np.clip(np.searchsorted(ids, window_ids), 0, len(ids) - 1)
        found = ids[at] == window_ids  # months of a member without a facts row of this merchant: left out
        w_purchases[at[found]] = window["purchases"][found]
        w_spend[at[found]] = window["spend"][found]
    facts = Facts(
        ids, row["first_days"], row["recency_days"], row["purchases"], row["topups"], w_purchases, w_spend
    )
    stored = Stored(
        *(row[name] for name in ("window_purchases", "window_spend", "r", "f", "m", "rfm", "abcd", "stage"))
    )
    return facts, stored


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
            "topup_amount, window_purchases, window_spend, rfm_class, abcd_class, life_stage, favourites_due) "
            "SELECT m.id, m.merchant_id, 0, 0, 0, 0, 0, 0, 0, 0, 0, '', '', '', FALSE "
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
    written: int = 0  # facts rows rewritten: those whose window sums, scores or classes moved


def changed_rows(scored: Scored, stored: Stored) -> np.ndarray:
    """True for the members whose window sums, scores or classes differ from what is stored."""
    moved = np.zeros(len(scored.member_ids), dtype=bool)
    for name in (
        "window_purchases",
        "window_spend",
        "recency",
        "frequency",
        "monetary",
        "rfm",
        "abcd",
        "stage",
    ):
        moved |= getattr(scored, name) != getattr(stored, name)
    return moved


def score_merchant(merchant, *, today=None, progress=None) -> ScoringResult:
    """Score every member of `merchant` from their facts; write back what moved, the favourites due and the snapshot.

    Every member is scored; only the facts rows whose window sums, scores or classes changed are
    rewritten (a day's scoring moves a few percent of them). This month's snapshot is written whole by
    the month's first scoring and then kept equal to the facts by rewriting the same changed rows.
    """
    today = today or timezone.localdate()
    settings = settings_for(merchant)
    month = month_start(today)
    with transaction.atomic():
        _add_missing_members(merchant)
        facts, stored = read_facts(merchant, today, month_start(today, settings.window_months - 1))
        if progress:
            progress(1, 3)
        scored = score_facts(facts, settings)
        if progress:
            progress(2, 3)
        moved = changed_rows(scored, stored)
        snapshot_started = has_snapshot(merchant, month)
        write_scores(scored, moved, only_moved=snapshot_started)
        written = set_scores()
        set_favourites(merchant)
        take_snapshot(merchant, month, whole=not snapshot_started)
        drop_scored()
        # Only the time: the settings page may be saving the merchant's choices at this moment.
        AnalyticsSettings.objects.get_or_create(merchant=merchant)
        AnalyticsSettings.objects.filter(merchant=merchant).update(scored_at=timezone.now())
    if progress:
        progress(3, 3)
    rfm_names = np.array(RFM_CODES, dtype=object)
    names, counts = np.unique(scored.rfm[scored.rfm > 0], return_counts=True)
    classes_moved = (scored.rfm != stored.rfm) | (scored.abcd != stored.abcd) | (scored.stage != stored.stage)
    return ScoringResult(
        len(scored.member_ids),
        int(np.count_nonzero(scored.recency)),
        {str(rfm_names[code]): int(count) for code, count in zip(names, counts, strict=True)},
        int(np.count_nonzero(classes_moved)),
        written,
    )


_SCORED_COLUMNS = (
    "member_id", "window_purchases", "window_spend", "r", "f", "m", "rfm", "abcd", "stage", "moved",
)  # fmt: skip
_SCORED_TYPES = ["bigint", "bigint", "bigint"] + ["smallint"] * 7


def write_scores(scored: Scored, moved: np.ndarray, *, only_moved: bool) -> None:
    """The scores into a temporary table (PostgreSQL: binary COPY; SQLite: executemany), in this transaction.

    `moved` marks the rows whose facts must be rewritten; with `only_moved` the others are left out
    (the month's snapshot already holds them).
    """
    drop_scored()
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE {SCORED} ("
            + ", ".join(f"{name} {kind}" for name, kind in zip(_SCORED_COLUMNS, _SCORED_TYPES, strict=True))
            + ", PRIMARY KEY (member_id))"
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
            moved.astype(np.int64),
        ]
        if only_moved:
            arrays = [array[moved] for array in arrays]
        if connection.vendor == "postgresql":
            with cursor.copy(
                f"COPY {SCORED} ({', '.join(_SCORED_COLUMNS)}) FROM STDIN WITH (FORMAT binary)"
            ) as copy:
                copy.write(_binary_copy(arrays, _SCORED_TYPES))
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


def has_snapshot(merchant, month: datetime.date) -> bool:
    """True once a scoring has written the merchant's snapshot of `month` (then kept whole by every later one)."""
    return MemberClassSnapshot.objects.filter(merchant=merchant, month=month).exists()


def set_scores() -> int:
    """One UPDATE: the window sums, scores and classes of the scored members whose values moved."""
    sets = (
        "window_purchases = t.window_purchases, window_spend = t.window_spend, recency_score = NULLIF(t.r, 0), "
        "frequency_score = NULLIF(t.f, 0), monetary_score = NULLIF(t.m, 0), "
        f"rfm_class = {_codes_sql('t.rfm', RFM_CODES)}, abcd_class = {_codes_sql('t.abcd', ABCD_CODES)}, "
        f"life_stage = {_codes_sql('t.stage', STAGE_CODES)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {FACTS} SET {sets} FROM {SCORED} t "  # noqa: S608 - our names
            f"WHERE {FACTS}.member_id = t.member_id AND t.moved = 1"
        )
        return cursor.rowcount


def favourites_sql() -> tuple[str, str]:
    """Each due member's store of the most spend and category of the most spend (ties: the smaller id)."""
    store = (
        "(SELECT member_id, store_id FROM (SELECT s.member_id, s.store_id, ROW_NUMBER() OVER ("  # noqa: S608 - our names
        "PARTITION BY s.member_id ORDER BY s.spend DESC, s.purchases DESC, s.store_id) AS place "
        f"FROM {MemberStoreFacts._meta.db_table} s JOIN {DUE} d ON d.member_id = s.member_id) AS ranked "
        "WHERE place = 1)"
    )
    category = (
        "(SELECT member_id, category_id FROM (SELECT member_id, category_id, ROW_NUMBER() OVER ("  # noqa: S608 - our names
        "PARTITION BY member_id ORDER BY total DESC, category_id) AS place FROM (SELECT p.member_id, "
        f"c.category_id, SUM(p.spend) AS total FROM {MemberProductFacts._meta.db_table} p "
        f"JOIN {DUE} d ON d.member_id = p.member_id JOIN {Product._meta.db_table} c ON c.id = p.product_id "
        "WHERE c.category_id IS NOT NULL GROUP BY p.member_id, c.category_id) AS totals) AS ranked "
        "WHERE place = 1)"
    )
    return store, category


def set_favourites(merchant) -> int:
    """Rank the favourite store and category of the members whose store or product rows changed since."""
    _drop_due()
    store, category = favourites_sql()
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE {DUE} (member_id bigint PRIMARY KEY, store_id bigint, category_id bigint)"
        )
        cursor.execute(
            f"INSERT INTO {DUE} (member_id) SELECT member_id FROM {FACTS} "  # noqa: S608 - our names
            "WHERE merchant_id = %s AND favourites_due",
            [merchant.pk],
        )
        if not cursor.rowcount:
            _drop_due()
            return 0
        for column, ranked in (("store_id", store), ("category_id", category)):
            cursor.execute(
                f"UPDATE {DUE} SET {column} = r.{column} FROM {ranked} r WHERE r.member_id = {DUE}.member_id"  # noqa: S608 - our names
            )
        cursor.execute(
            f"UPDATE {FACTS} SET favourite_store_id = d.store_id, favourite_category_id = d.category_id, "  # noqa: S608 - our names
            f"favourites_due = FALSE FROM {DUE} d WHERE {FACTS}.member_id = d.member_id"
        )
        ranked = cursor.rowcount
    _drop_due()
    return ranked


def take_snapshot(merchant, month: datetime.date, *, whole: bool) -> int:
    """This month's classes of the scored members (`whole`: the month's first scoring, every member).

    An upsert that rewrites only the rows whose classes moved: a later scoring in the month is cheap.
    """
    month = connection.ops.adapt_datefield_value(month)
    classes = (
        f"{_codes_sql('t.rfm', RFM_CODES)}, {_codes_sql('t.abcd', ABCD_CODES)}, "
        f"{_codes_sql('t.stage', STAGE_CODES)}"
    )
    with connection.cursor() as cursor:
        if whole:
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


def add_snapshot(merchant, month: datetime.date) -> int:
    """The scored members' classes as the snapshot of `month`, leaving any member's row already there."""
    month = connection.ops.adapt_datefield_value(month)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {SNAPSHOTS} (merchant_id, member_id, month, rfm_class, abcd_class, life_stage) "  # noqa: S608 - our names
            f"SELECT %s, t.member_id, %s, {_codes_sql('t.rfm', RFM_CODES)}, {_codes_sql('t.abcd', ABCD_CODES)}, "
            f"{_codes_sql('t.stage', STAGE_CODES)} FROM {SCORED} t WHERE true ON CONFLICT (member_id, month) DO NOTHING",
            [merchant.pk, month],
        )
        return cursor.rowcount


def drop_scored() -> None:
    """Drop the temporary table of one scoring's results."""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {SCORED}")


def _drop_due() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {DUE}")
