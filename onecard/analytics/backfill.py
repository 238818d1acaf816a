"""Snapshots of past months, for a merchant whose history is older than their first scoring.

The migration matrix compares a month's snapshot with the month before; a merchant who imported years of
sales (or installed OneCard after trading for a while) has no snapshot before the first nightly scoring.
`backfill_snapshots` writes, for each past month without one, the classes every member had at the end of
that month: the sales up to that day are summed per member and month in one grouped query, and each
month end is scored from them in numpy by the same `scoring.score_facts` the nightly scoring uses, with
the merchant's current settings. A member counts from the day they joined; top-ups count up to the month
end. Months that have a snapshot (written by a real scoring) are left as they are.
"""

import datetime

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from onecard.analytics import scoring
from onecard.analytics.models import MemberClassSnapshot
from onecard.analytics.rebuild import CARD_TRANSACTIONS, INVOICE_FACTS, SALES, local_day_sql, month_of_day_sql
from onecard.members.models import Member
from onecard.sales.models import InvoiceFactKind

NEVER = np.iinfo(np.int64).max
EPOCH = datetime.date(1970, 1, 1)


def _day_number_sql(day: str) -> str:
    """SQL for the days from 1970-01-01 to the date expression `day`."""
    if connection.vendor == "postgresql":
        return f"({day} - DATE '1970-01-01')"
    return f"CAST(julianday({day}) - 2440587.5 AS INTEGER)"


def _day_number(day: datetime.date) -> int:
    return (day - EPOCH).days


def month_end(month: datetime.date) -> datetime.date:
    """The last day of the month starting on `month`."""
    return scoring.month_start(month, -1) - datetime.timedelta(days=1)


def _history(merchant) -> dict:
    """The merchant's sales per member and month (first and last day, purchases, spend), joins and top-ups."""
    day = local_day_sql("s.created_at")
    months = scoring.read_arrays(
        f"SELECT s.member_id, {_day_number_sql(month_of_day_sql(day))} AS month, COUNT(*) AS purchases, "  # noqa: S608 - our names
        f"SUM(s.total_due - s.returned_due) AS spend, MIN({_day_number_sql(day)}) AS first_day, "
        f"MAX({_day_number_sql(day)}) AS last_day FROM {SALES} s "
        "WHERE s.merchant_id = %s AND s.member_id IS NOT NULL "
        f"GROUP BY s.member_id, {_day_number_sql(month_of_day_sql(day))}",
        [merchant.pk],
        [
            ("member_id", "bigint"),
            ("month", "integer"),
            ("purchases", "bigint"),
            ("spend", "bigint"),
            ("first_day", "integer"),
            ("last_day", "integer"),
        ],
    )
    members = scoring.read_arrays(
        f"SELECT id AS member_id, {_day_number_sql(local_day_sql('created_at'))} AS joined "  # noqa: S608 - our names
        f"FROM {Member._meta.db_table} WHERE merchant_id = %s ORDER BY id",
        [merchant.pk],
        [("member_id", "bigint"), ("joined", "integer")],
    )
    topups = scoring.read_arrays(
        f"SELECT ct.member_id, {_day_number_sql(local_day_sql('f.occurred_at'))} AS day "  # noqa: S608 - our names
        f"FROM {INVOICE_FACTS} f JOIN {CARD_TRANSACTIONS} ct ON ct.id = f.card_transaction_id "
        "WHERE f.merchant_id = %s AND f.kind = %s AND ct.member_id IS NOT NULL",
        [merchant.pk, InvoiceFactKind.TOPUP],
        [("member_id", "bigint"), ("day", "integer")],
    )
    return {"months": months, "members": members, "topups": topups}


def facts_at(history: dict, end: datetime.date, window_start: datetime.date) -> scoring.Facts:
    """Every member who had joined by `end`, with their facts as they stood at the end of that day."""
    e = _day_number(end)
    members = history["members"]
    ids = members["member_id"][members["joined"] <= e]
    n = len(ids)
    if not n:
        empty = np.zeros(0, dtype=np.int64)
        return scoring.Facts(ids, empty, empty, empty, empty, empty, empty)

    def positions(member_ids, keep):
        at = np.clip(np.searchsorted(ids, member_ids), 0, n - 1)
        found = keep & (ids[at] == member_ids)
        return at[found], found

    rows = history["months"]
    at, found = positions(rows["member_id"], rows["last_day"] <= e)
    purchases = np.bincount(at, weights=rows["purchases"][found], minlength=n).astype(np.int64)
    first, last = np.full(n, NEVER, dtype=np.int64), np.full(n, -1, dtype=np.int64)
    np.minimum.at(first, at, rows["first_day"][found])
    np.maximum.at(last, at, rows["last_day"][found])
    in_window = found & (rows["month"] >= _day_number(window_start))
    w_at = np.clip(np.searchsorted(ids, rows["member_id"][in_window]), 0, n - 1)
    w_purchases = np.bincount(w_at, weights=rows["purchases"][in_window], minlength=n)
    w_spend = np.bincount(w_at, weights=rows["spend"][in_window], minlength=n)
    t_at, _found = positions(history["topups"]["member_id"], history["topups"]["day"] <= e)
    topups = np.bincount(t_at, minlength=n).astype(np.int64)
    bought = purchases > 0
    return scoring.Facts(
        ids,
        np.where(bought, e - first, -1),
        np.where(bought, e - last, -1),
        purchases,
        topups,
        np.rint(w_purchases).astype(np.int64),
        np.rint(w_spend).astype(np.int64),  # sums of whole fen, exact below 2**53
    )


def backfill_snapshots(merchant, months: int = 12, *, today=None, progress=None) -> dict:
    """Write the snapshots of the `months` closed months before this one that have none; {month: members}."""
    today = today or timezone.localdate()
    settings = scoring.settings_for(merchant)
    have = set(
        MemberClassSnapshot.objects.filter(merchant=merchant).values_list("month", flat=True).distinct()
    )
    todo = [m for m in (scoring.month_start(today, k) for k in range(months, 0, -1)) if m not in have]
    if not todo:
        return {}
    history = _history(merchant)
    written = {}
    with transaction.atomic():
        for i, month in enumerate(todo, 1):
            end = month_end(month)
            facts = facts_at(history, end, scoring.month_start(end, settings.window_months - 1))
            scored = scoring.score_facts(facts, settings)
            scoring.write_scores(scored, np.ones(len(scored.member_ids), dtype=bool), only_moved=False)
            written[month] = scoring.add_snapshot(merchant, month)
            scoring.drop_scored()
            if progress:
                progress(i, len(todo))
    return written
