"""The lifetime-value summary of a merchant's members from the one purchase history (sales.Sale).

Per member with a sale before the calibration end: purchase days (distinct local dates with a sale), x =
purchase days − 1, t_x = weeks from the first to the last purchase day, T = weeks from the first purchase
day to the calibration end, m = mean net spend (total_due − returned_due, fen) of the repeat purchase
days. Days, not sales: two sales on one day are one visit (BG/NBD counts purchase occasions).

The calibration end is a local date; the sales used are those made before it begins (local midnight), so
a fit on today's date uses every sale up to yesterday.
"""

import datetime
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
from django.conf import settings

from onecard.sales.models import Sale

SECONDS_PER_DAY = 86400
DAYS_PER_WEEK = 7.0
CHUNK = 100_000


@dataclass(frozen=True)
class ClvSummary:
    """Parallel arrays, one entry per member, sorted by member id; t_x and T in weeks, m in fen."""

    calibration_end: datetime.date
    member_ids: np.ndarray
    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    m: np.ndarray

    def __len__(self):
        return len(self.member_ids)

    @property
    def repeat_buyers(self) -> int:
        """Members with at least one repeat purchase day."""
        return int((self.x > 0).sum())


def calibration_start_of(day: datetime.date) -> datetime.datetime:
    """The instant the local date `day` begins (sales before it belong to the calibration period)."""
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=ZoneInfo(settings.TIME_ZONE))


def local_day_numbers(epoch_seconds: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of each instant's local date, with the zone's offset of that hour (DST-safe)."""
    zone = ZoneInfo(settings.TIME_ZONE)
    hours = epoch_seconds // 3600
    distinct, position = np.unique(hours, return_inverse=True)
    offsets = np.array(
        [
            datetime.datetime.fromtimestamp(int(hour) * 3600, tz=datetime.UTC)
            .astimezone(zone)
            .utcoffset()
            .total_seconds()
            for hour in distinct
        ],
        dtype=np.int64,
    )
    return (epoch_seconds + offsets[position]) // SECONDS_PER_DAY


def sales_rows(merchant, calibration_end: datetime.date):
    """(member ids, epoch seconds, net fen) of the merchant's member sales before the calibration end, one query."""
    rows = (
        # The merchant's own members only: an alliance partner's member who bought here is valued by theirs.
        Sale.objects.filter(
            merchant=merchant, member__merchant=merchant, created_at__lt=calibration_start_of(calibration_end)
        )
        .order_by()
        .values_list("member_id", "created_at", "total_due", "returned_due")
    )
    # Packed into numpy a chunk at a time: ten million sales stay a few hundred MB, not Python ints.
    chunks, chunk = [], []
    for member_id, created_at, total_due, returned_due in rows.iterator(chunk_size=5000):
        chunk.append((member_id, int(created_at.timestamp()), total_due - returned_due))
        if len(chunk) == CHUNK:
            chunks.append(np.array(chunk, dtype=np.int64))
            chunk = []
    if chunk:
        chunks.append(np.array(chunk, dtype=np.int64))
    table = np.concatenate(chunks) if chunks else np.zeros((0, 3), dtype=np.int64)
    return table[:, 0], table[:, 1], table[:, 2]


def summarise(members, epoch_seconds, net, calibration_end: datetime.date) -> ClvSummary:
    """Group the sales by member and local date into (x, t_x, T, m) per member."""
    end_day = (calibration_end - datetime.date(1970, 1, 1)).days
    if len(members) == 0:
        empty = np.zeros(0)
        return ClvSummary(calibration_end, np.zeros(0, dtype=np.int64), empty, empty, empty, empty)
    days = local_day_numbers(epoch_seconds)
    order = np.lexsort((days, members))
    members, days, net = members[order], days[order], net[order]
    # One row per (member, day): the day's net spend is the sum of its sales.
    new_visit = np.ones(len(members), dtype=bool)
    new_visit[1:] = (members[1:] != members[:-1]) | (days[1:] != days[:-1])
    visit_start = np.flatnonzero(new_visit)
    visit_member, visit_day = members[visit_start], days[visit_start]
    visit_net = np.add.reduceat(net, visit_start)
    # One row per member: its visits are a contiguous run of the sorted visits.
    new_member = np.ones(len(visit_member), dtype=bool)
    new_member[1:] = visit_member[1:] != visit_member[:-1]
    member_start = np.flatnonzero(new_member)
    member_end = np.append(member_start[1:], len(visit_member)) - 1
    first_day, last_day = visit_day[member_start], visit_day[member_end]
    x = (member_end - member_start).astype(float)
    repeat_net = np.add.reduceat(visit_net, member_start) - visit_net[member_start]
    m = np.divide(repeat_net, x, out=np.zeros(len(x)), where=x > 0)
    return ClvSummary(
        calibration_end=calibration_end,
        member_ids=visit_member[member_start],
        x=x,
        t_x=(last_day - first_day) / DAYS_PER_WEEK,
        T=(end_day - first_day) / DAYS_PER_WEEK,
        m=m,
    )


def merchant_summary(merchant, calibration_end: datetime.date) -> ClvSummary:
    """The summary of every member of `merchant` who bought before `calibration_end`."""
    return summarise(*sales_rows(merchant, calibration_end), calibration_end)
