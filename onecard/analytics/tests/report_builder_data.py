"""Rows the report builder tests share: sales at three stores in the first half of 2026, and small helpers."""

import datetime
import random
from zoneinfo import ZoneInfo

from onecard.analytics.report_builder.definition import validate
from onecard.analytics.report_builder.runner import run
from onecard.sales.models import Sale

SHANGHAI = ZoneInfo("Asia/Shanghai")
URL = "/analytics/reports/"


def local(year, month, day, hour=12, minute=0):
    """A time in Shanghai."""
    return datetime.datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def table(result):
    """The result's rows as tuples of plain values, in the order the report gives them."""
    return [tuple(row) for row in result.all_values()]


def run_raw(user, merchant, raw):
    """Check `raw` and run it for `user`."""
    return run(validate(raw), user, merchant)


def make_sales(chain, seed=7, count=60):
    """`count` checkouts at A1, A2 and B1 in the first half of 2026 (plus one at 00:30 on 1 April, local).

    Returns the rows as pandas sees them: store name, time (Shanghai), amounts in fen.
    """
    rng = random.Random(seed)
    stores = [chain.a1, chain.a2, chain.b1]
    times = [
        local(2026, 1, 1) + datetime.timedelta(minutes=rng.randrange(0, 181 * 24 * 60)) for _ in range(count)
    ]
    times.append(local(2026, 4, 1, 0, 30))  # UTC 31 March: counts in April, local time
    rows = []
    for n, moment in enumerate(times):
        store = stores[n % 3] if n < count else chain.a1
        list_total = rng.randrange(100, 50_000)
        discount = rng.randrange(0, list_total // 5 + 1)
        sale = Sale.objects.create(
            merchant=chain.merchant,
            store=store,
            business_ref=f"T{n:04d}",
            list_total=list_total,
            discount_total=discount,
            total_due=list_total - discount,
            returned_due=rng.choice([0, 0, 0, 50]),
            points_earned=rng.randrange(0, 100),
        )
        Sale.objects.filter(pk=sale.pk).update(created_at=moment)
        sale.created_at = moment
        rows.append(
            {
                "sale": sale,
                "store": store.name,
                "at": moment,
                "total_due": list_total - discount,
                "discount": discount,
            }
        )
    return rows
