"""`onecard bench analytics`: the full RFM + ABCD + life-cycle scoring of a million members, against DuckDB.

Issue 11's target: with 1M members and 10M sale lines (seed-demo --members 1000000 --history-lines
10000000), `scoring.score_merchant` of the demo merchant takes at most twice as long as a hand-written
DuckDB query over an export of the same rows, measured in the same run.

What is compared: the rows the scoring reads, the member facts (first and last purchase, purchases,
top-ups) and the month rows (purchases and spend per member and month), exported to Parquet. DuckDB
computes from them the same R, F, M quintile scores, RFM class, ABCD class and life-cycle stage; its
classes must equal those score_merchant wrote (disagreements: 0).

Ours is timed as the schedule runs it: every night, one day after the last. Each measured sample scores
the whole merchant one day later than the one before (today + 1, + 2, ...): every member is read and
scored, the rows whose sums, scores or classes moved are written back, with the favourites of the members
due and the snapshot. The first scoring after facts.rebuild (every row written, every favourite ranked) is
timed once for reference, and so is the compute part alone (read and score, no write), the like of what
the DuckDB query does. facts.rebuild is timed once. Then today is scored again and compared with DuckDB.
Product pairs over every history line (the basket page's counting) are timed against 60 s.

The sales dashboards (issue 11, A6): GET /analytics/dashboards/?period=30d and ?period=12m through Django's
test client for the demo's HQ admin ("hq"), a store manager ("manager") and a cashier ("cashier"), each
below DASHBOARD_TARGET_MS at the median. The daily rollups are brought up to yesterday first (from
scratch, timed as an untargeted case), so the pages measure what they do every day after the job ran.

The classes page (GET /analytics/) and the cohort page (GET /analytics/cohorts/) are then timed through
Django's test client, as the demo's head office (`hq`) and a store manager (`manager`), after one refresh
of the counts they sum (analytics.page_counts): median under PAGE_TARGET_MS each. The refresh itself is
timed once, for reference (`page_cases`; it runs alone with `onecard bench analytics` skipped: call
`page_cases(demo_merchant(), samples, warmup)` from `onecard shell`).
"""

import datetime
import os
import statistics
import tempfile
import time
import zoneinfo

import duckdb
import numpy as np
from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from onecard.analytics import facts, scoring
from onecard.analytics.basket import queries as basket
from onecard.analytics.models import MemberFacts
from onecard.analytics.scoring import FACTS, MONTHS, read_frame
from onecard.members.models import Member
from onecard.org.demo import demo_merchant
from onecard.promotions.reports import Period
from onecard.sales import demo_history
from onecard.sales.reports import SaleScope

from . import summarize

DEFAULT_SAMPLES = 5
PAGE_TARGET_MS = 300
PAGES = (("/analytics/", "classes page"), ("/analytics/cohorts/", "cohort page"))
PAGE_VIEWERS = (("hq", "head office"), ("manager", "store manager"))
TARGET_RATIO = 2.0
PAIRS_TARGET_MS = 60_000
DASHBOARD_TARGET_MS = 300
DASHBOARD_VIEWERS = (("HQ", "hq"), ("store manager", "manager"), ("cashier", "cashier"))
EXPORTED = "the facts and month rows score_merchant reads (Parquet)"


def run(options):
    out = options["stdout"]
    merchant = ensure_data(out, options["members"], options["history_lines"], options.get("no_seed"))
    lines = demo_history.history_lines(merchant)
    members = Member.objects.filter(merchant=merchant).count()
    out.write(f"{connection.vendor}: {members:,} members, {lines:,} history sale lines")
    rebuild_ms = None
    if not options.get("skip_rebuild"):
        started = time.perf_counter()
        counts = facts.rebuild(merchant=merchant)
        rebuild_ms = (time.perf_counter() - started) * 1000
        out.write(
            f"facts.rebuild: {rebuild_ms / 1000:.1f} s ({counts.members:,} members, {counts.products:,} products)"
        )
    demo_history.analyze()
    today = timezone.localdate()
    samples, warmup = options["samples"], options["warmup"]
    first = timed(lambda: scoring.score_merchant(merchant, today=today), 1, 0)
    written, days = [], iter(range(1, samples + warmup + 1))

    def next_night():
        written.append(
            scoring.score_merchant(merchant, today=today + datetime.timedelta(days=next(days))).written
        )

    ours = timed(next_night, samples, warmup)
    compute = timed(lambda: compute_only(merchant, today), samples, warmup)
    phases = phase_times(merchant, today + datetime.timedelta(days=samples + warmup + 1))
    scoring.score_merchant(merchant, today=today)
    with tempfile.TemporaryDirectory() as directory:
        paths, export_ms = export_rows(merchant, directory)
        theirs, duck_times = duckdb_classes(paths, scoring.settings_for(merchant), today, samples, warmup)
    disagreeing = disagreements(our_classes(merchant), theirs)
    duck = statistics.median(duck_times)
    ratio, compute_ratio = statistics.median(ours) / duck, statistics.median(compute) / duck
    target = round(TARGET_RATIO * duck, 3)
    cases = [
        summarize(
            "score_merchant, nightly: read, score all, write what moved, favourites, snapshot", target, ours
        ),
        summarize("compute only: read facts and months, score (no write)", target, compute),
        untargeted("duckdb: hand-written query over the Parquet export", duck_times),
        untargeted("score_merchant, first after the rebuild: every row written", first),
    ]
    if rebuild_ms is not None:
        cases.append(untargeted("facts.rebuild (whole merchant, once)", [rebuild_ms]))
    pairs, pair_times = timed_pairs(merchant, today, min(samples, 3))
    cases.append(
        summarize("product pairs: every sale line of the two years (HQ)", PAIRS_TARGET_MS, pair_times)
    )
    cases += dashboard_cases(merchant, samples, warmup)
    cases += page_cases(merchant, samples, warmup)
    cases[0]["pass"] = cases[0]["pass"] and disagreeing == 0
    return {
        "benchmark": "analytics",
        "database": connection.vendor,
        "members": members,
        "buyers_with_facts": MemberFacts.objects.filter(merchant=merchant).exclude(purchases=0).count(),
        "sale_lines": lines,
        "buyers": int(theirs["buyer"].sum()),
        "compared": EXPORTED,
        "export_ms": round(export_ms, 1),
        "disagreements": disagreeing,
        "ratio": round(ratio, 3),
        "compute_ratio": round(compute_ratio, 3),
        "target_ratio": TARGET_RATIO,
        "phases_ms": phases,
        "rows_written_per_night": written[warmup:],
        "pairs": pairs,
        "rebuild_ms": round(rebuild_ms, 1) if rebuild_ms is not None else None,
        "samples": samples,
        "warmup": warmup,
        "cases": cases,
    }


def dashboard_cases(merchant, samples, warmup) -> list:
    """The dashboard pages of the demo's HQ admin, store manager and cashier, after rolling up from scratch."""
    from django.test import Client
    from django.urls import reverse

    from onecard.analytics.dashboards import rollup
    from onecard.analytics.models import RollupState
    from onecard.org import second_factor
    from onecard.org.models import Staff

    RollupState.objects.filter(merchant=merchant).delete()  # the rollup's whole time, every closed day
    started = time.perf_counter()
    rollup.roll_up(merchant)
    cases = [
        untargeted("dashboards: roll up every closed day (once)", [(time.perf_counter() - started) * 1000])
    ]
    url = reverse("dashboards:dashboard")
    for label, username in DASHBOARD_VIEWERS:
        client, staff = Client(), Staff.objects.get(username=username)
        client.force_login(staff)
        session = client.session
        second_factor.mark_verified(session, staff)  # what the second step does for an HQ or store login
        session.save()
        for code in ("30d", "12m"):
            status = {}

            def call(client=client, code=code, status=status):
                response = client.get(url, {"period": code})
                status[response.status_code] = status.get(response.status_code, 0) + 1

            case = summarize(
                f"dashboards: GET ?period={code} as {label} ({username})",
                DASHBOARD_TARGET_MS,
                timed(call, samples, warmup),
            )
            if set(status) != {200}:
                case["pass"], case["note"] = False, f"status codes {status}"
            else:
                case["note"] = chart_times(merchant, staff, code)
            cases.append(case)
    return cases


def chart_times(merchant, staff, code) -> str:
    """Where one page's time goes: each chart of its dashboard computed once more (ms), the slowest three named."""
    from onecard.analytics.dashboards import queries as dashboards
    from onecard.analytics.dashboards import rollup

    cashier = not staff.has_perm("analytics.view")
    scope = dashboards.DashboardScope.for_user(staff, merchant, cashier=cashier)
    period = dashboards.Period.last(
        code, rolled_through=None if cashier else rollup.rolled_through(merchant.pk)
    )
    times = {}
    for name in dashboards.chart_names(scope):
        started = time.perf_counter()
        dashboards.chart_named(scope, period, name)
        times[name] = (time.perf_counter() - started) * 1000
    slowest = sorted(times, key=times.get, reverse=True)[:3]
    rest = [name for name in times if name not in slowest]
    named = ", ".join(f"{name} {times[name]:.0f}" for name in slowest)
    return f"charts (ms): {named}; the other {len(rest)} {sum(times[name] for name in rest):.0f}"


def untargeted(name, times) -> dict:
    """A case measured for reference, with no target of its own."""
    return {**summarize(name, 0, times), "target_ms": None, "pass": True}


def page_cases(merchant, samples, warmup, viewers=PAGE_VIEWERS) -> list:
    """The classes and cohort pages through the test client, per viewer, after one timed refresh of their counts."""
    from django.test import Client

    from onecard.analytics import page_counts
    from onecard.org.models import Staff
    from onecard.org.second_factor import mark_verified

    cases = [
        untargeted(
            "page_counts.refresh (whole merchant, once)", timed(lambda: page_counts.refresh(merchant), 1, 0)
        )
    ]
    for username, viewer in viewers:
        staff = Staff.objects.select_related("node").get(username=username)
        client = Client()
        client.force_login(staff)
        session = client.session
        mark_verified(session, staff)  # past the second step, as a logged-in person is
        session.save()
        for url, page in PAGES:
            status = {}

            def get(client=client, url=url, status=status):
                code = client.get(url, {"merchant": merchant.pk}).status_code
                status[code] = status.get(code, 0) + 1

            case = summarize(f"GET {url} ({page}, {viewer})", PAGE_TARGET_MS, timed(get, samples, warmup))
            if set(status) != {200}:
                case["pass"], case["note"] = False, f"status codes {status}"
            cases.append(case)
    return cases


def ensure_data(out, members, lines, no_seed):
    """The demo merchant with at least `members` members and `lines` history sale lines, seeded if short."""
    merchant = demo_merchant()
    have = Member.objects.filter(merchant=merchant).count() if merchant else 0
    have_lines = demo_history.history_lines(merchant) if merchant else 0
    if (have < members or have_lines < lines) and not no_seed:
        out.write(
            f"seeding the demo: members {have:,} → {members:,}, history lines {have_lines:,} → {lines:,}"
        )
        started = time.monotonic()
        call_command("seed_demo", members=max(members, have), history_lines=lines, stdout=out)
        out.write(f"seeded in {time.monotonic() - started:.1f} s")
        merchant = demo_merchant()
    if merchant is None:
        raise RuntimeError("no demo merchant: run `onecard seed-demo` or drop --no-seed")
    return merchant


def timed(call, samples, warmup) -> list:
    """Milliseconds of `samples` calls after `warmup` unmeasured ones."""
    for _ in range(warmup):
        call()
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def timed_pairs(merchant, today, samples) -> tuple[dict, list]:
    """Product pairs of the merchant's whole history (the basket page's counting), timed `samples` times."""
    period = Period(today - datetime.timedelta(days=demo_history.HISTORY_DAYS), today)
    scope = SaleScope(merchant.pk, None)
    times, report = [], None
    for _ in range(samples):
        started = time.perf_counter()
        report = basket.product_pairs(scope, period)
        times.append((time.perf_counter() - started) * 1000)
    return {"sales": report.sales, "pairs_found": report.pairs_found}, times


def compute_only(merchant, today):
    """score_merchant's compute part: read the facts and window sums, score every member; nothing written."""
    settings_row = scoring.settings_for(merchant)
    facts, _stored = scoring.read_facts(
        merchant, today, scoring.month_start(today, settings_row.window_months - 1)
    )
    return scoring.score_facts(facts, settings_row)


def phase_times(merchant, day) -> dict:
    """One nightly scoring of `day` step by step (rolled back): milliseconds of each part."""
    times, settings_row = {}, scoring.settings_for(merchant)

    def step(name, call):
        started = time.perf_counter()
        value = call()
        times[name] = round((time.perf_counter() - started) * 1000, 1)
        return value

    with transaction.atomic():
        start = scoring.month_start(day, settings_row.window_months - 1)
        facts, stored = step("read", lambda: scoring.read_facts(merchant, day, start))
        scored = step("score", lambda: scoring.score_facts(facts, settings_row))
        moved = step("compare", lambda: scoring.changed_rows(scored, stored))
        month = scoring.month_start(day)
        whole = not scoring.has_snapshot(merchant, month)
        step(
            "write_scores (temporary table)",
            lambda: scoring.write_scores(scored, moved, only_moved=not whole),
        )
        times["rows moved"] = int(moved.sum())
        step("update facts", scoring.set_scores)
        step("favourites of the members due", lambda: scoring.set_favourites(merchant))
        step("snapshot", lambda: scoring.take_snapshot(merchant, month, whole=whole))
        transaction.set_rollback(True)
    return times


def _epoch_sql(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"CAST(EXTRACT(EPOCH FROM {column}) AS bigint)"
    return f"CAST(strftime('%%s', {column}) AS INTEGER)"


def _day_number_sql(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"({column} - DATE '1970-01-01')"
    return f"CAST(julianday({column}) - 2440587.5 AS INTEGER)"


def export_rows(merchant, directory) -> tuple[dict, float]:
    """The merchant's facts and month rows as Parquet files (times as UTC epoch seconds, months as day numbers)."""
    started = time.perf_counter()
    frames = {
        "facts": read_frame(
            f"SELECT member_id, {_epoch_sql('first_purchase_at')} AS first_at, "  # noqa: S608 - our names
            f"{_epoch_sql('last_purchase_at')} AS last_at, purchases, topups FROM {FACTS} WHERE merchant_id = %s",
            [merchant.pk],
            ["member_id", "first_at", "last_at", "purchases", "topups"],
        ),
        "months": read_frame(
            f"SELECT member_id, {_day_number_sql('month')} AS month_day, purchases, spend FROM {MONTHS} "  # noqa: S608 - our names
            "WHERE merchant_id = %s",
            [merchant.pk],
            ["member_id", "month_day", "purchases", "spend"],
        ),
    }
    paths = {}
    with duckdb.connect() as duck:
        for name, frame in frames.items():
            paths[name] = os.path.join(directory, f"{name}.parquet")
            duck.register("frame", frame)
            # integers, as stored (pandas reads a column with NULLs as floats)
            columns = ", ".join(f"CAST({column} AS BIGINT) AS {column}" for column in frame.columns)
            duck.execute(f"COPY (SELECT {columns} FROM frame) TO '{paths[name]}' (FORMAT parquet)")  # noqa: S608 - our temporary file
            duck.unregister("frame")
    return paths, (time.perf_counter() - started) * 1000


def duckdb_sql(paths: dict, settings_row, today: datetime.date) -> str:
    """The hand-written query: R, F, M quintile scores, RFM class, ABCD and life stage of every member."""
    if settings_row.score_method != "quantiles" or settings_row.abcd_method != "quantiles":
        raise NotImplementedError(
            "the DuckDB query is written for quantile scores and the top-share ABCD split"
        )
    offset = int(
        datetime.datetime(2026, 1, 1, tzinfo=zoneinfo.ZoneInfo(settings.TIME_ZONE))
        .utcoffset()
        .total_seconds()
    )
    today_number = (today - datetime.date(1970, 1, 1)).days
    start = scoring.month_start(today, settings_row.window_months - 1)
    top = settings_row.abcd_top_percent
    return f"""
    WITH w AS (
        SELECT member_id, SUM(purchases) AS f, SUM(spend) AS m FROM read_parquet('{paths["months"]}')
        WHERE month_day >= {(start - datetime.date(1970, 1, 1)).days} GROUP BY member_id
    ), x AS (
        SELECT x.member_id, x.purchases, x.topups, COALESCE(w.f, 0) AS f, COALESCE(w.m, 0) AS m,
            CASE WHEN x.first_at IS NULL THEN -1 ELSE {today_number} - (x.first_at + {offset}) // 86400 END AS first_days,
            CASE WHEN x.last_at IS NULL THEN -1 ELSE {today_number} - (x.last_at + {offset}) // 86400 END AS r
        FROM read_parquet('{paths["facts"]}') x LEFT JOIN w ON w.member_id = x.member_id
    ), n AS (SELECT COUNT(*) AS n FROM x WHERE purchases > 0),
    ranked AS (
        SELECT x.member_id, x.f, x.m, n.n,
            1 + (5 * (RANK() OVER (ORDER BY x.r DESC) - 1)) // n.n AS rs,
            1 + (5 * (RANK() OVER (ORDER BY x.f) - 1)) // n.n AS fs,
            1 + (5 * (RANK() OVER (ORDER BY x.m) - 1)) // n.n AS ms,
            RANK() OVER (ORDER BY x.f) - 1 AS f_below, RANK() OVER (ORDER BY x.m) - 1 AS m_below
        FROM x, n WHERE x.purchases > 0
    ), classed AS (
        SELECT member_id, rs, fs, ms,
            rs > AVG(rs) OVER () AS rh, fs > AVG(fs) OVER () AS fh, ms > AVG(ms) OVER () AS mh,
            f_below * 100 >= {100 - top} * n AND f > 0 AS frequent,
            m_below * 100 >= {100 - top} * n AND m > 0 AS high_amount
        FROM ranked
    )
    SELECT x.member_id, x.purchases > 0 AS buyer, COALESCE(c.rs, 0) AS rs, COALESCE(c.fs, 0) AS fs,
        COALESCE(c.ms, 0) AS ms,
        CASE WHEN c.member_id IS NULL THEN ''
            WHEN c.mh THEN (CASE WHEN c.rh AND c.fh THEN 'important_value' WHEN c.rh THEN 'important_grow'
                                 WHEN c.fh THEN 'important_keep' ELSE 'important_win_back' END)
            ELSE (CASE WHEN c.rh AND c.fh THEN 'general_value' WHEN c.rh THEN 'general_grow'
                       WHEN c.fh THEN 'general_keep' ELSE 'general_win_back' END) END AS rfm,
        CASE WHEN c.member_id IS NULL THEN '' WHEN c.frequent AND c.high_amount THEN 'A'
             WHEN c.frequent THEN 'B' WHEN c.high_amount THEN 'C' ELSE 'D' END AS abcd,
        CASE WHEN x.purchases = 0 THEN (CASE WHEN x.topups > 0 THEN 'interested' ELSE 'prospect' END)
             WHEN x.first_days <= {settings_row.new_days} THEN (CASE WHEN x.purchases = 1 THEN 'first_purchase' ELSE 'new' END)
             WHEN x.r <= {settings_row.active_days} THEN 'active'
             WHEN x.r <= {settings_row.warning_days} THEN 'lapsing'
             WHEN x.r <= {settings_row.dormant_days} THEN 'dormant' ELSE 'lost' END AS stage
    FROM x LEFT JOIN classed c ON c.member_id = x.member_id
    """  # noqa: S608 - a query over our own export, the values from our settings


def duckdb_classes(paths, settings_row, today, samples=1, warmup=0):
    """DuckDB's classes of every member (a DataFrame) and the milliseconds of each timed run of its query."""
    sql = duckdb_sql(paths, settings_row, today)
    with duckdb.connect() as duck:
        frame = None
        for _ in range(warmup):
            duck.execute(sql).fetchnumpy()
        times = []
        for _ in range(max(samples, 1)):
            started = time.perf_counter()
            frame = duck.execute(sql).df()
            times.append((time.perf_counter() - started) * 1000)
    return frame, times


def our_classes(merchant):
    """The scores and classes score_merchant wrote, one row per member."""
    return read_frame(
        "SELECT member_id, COALESCE(recency_score, 0), COALESCE(frequency_score, 0), "  # noqa: S608 - our names
        f"COALESCE(monetary_score, 0), rfm_class, abcd_class, life_stage FROM {FACTS} WHERE merchant_id = %s",
        [merchant.pk],
        ["member_id", "rs", "fs", "ms", "rfm", "abcd", "stage"],
    )


def disagreements(ours, theirs) -> int:
    """Members whose scores or classes differ between the two (a member missing from one side counts)."""
    mine = ours.astype(object).fillna("").set_index("member_id").sort_index()
    other = theirs.astype(object).fillna("").set_index("member_id").sort_index()
    missing = len(mine.index.symmetric_difference(other.index))
    both = mine.index.intersection(other.index)
    mine, other = mine.loc[both], other.loc[both]
    differ = np.zeros(len(both), dtype=bool)
    for column in ("rs", "fs", "ms"):
        differ |= mine[column].to_numpy(dtype=np.int64) != other[column].to_numpy(dtype=np.int64)
    for column in ("rfm", "abcd", "stage"):
        differ |= mine[column].astype(str).to_numpy() != other[column].astype(str).to_numpy()
    return int(differ.sum()) + missing
