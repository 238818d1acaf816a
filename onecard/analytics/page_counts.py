"""The counts of the classes page and the cohort page, kept per home store and summed by the pages.

Counting a million members on every page view takes seconds; these rows are counted once, right after each
scoring (the nightly job, "Score now", `onecard analytics score|rebuild`, seed-demo), by a few
INSERT ... SELECT ... GROUP BY, and a page adds up the rows of the home stores the viewer may see (a few
thousand rows at most). The figures are therefore as of `CountsState.refreshed_at`; a merchant without a
state is counted on its first page view. The definitions are those of analytics.queries (classes) and
analytics.cohorts.queries (cohorts): only active members count, by their home store now.

- ClassCell: active members with facts by home store and (RFM class, ABCD class, life stage).
- ClassMoveCell: for every month with a snapshot and each class field, active members by home store and
  (class the month before, or "" without a snapshot then; class at the month).
- CohortCell: active members by home store, join month (local time) and purchase month, for the first
  COHORT_MONTHS months from joining; month null holds the cohort's size.
- TierCell: active members by home store and the tier they hold (the dashboards' tier chart).
- FlowCell: per home store and month, buyers split into new and returning, and the members lost in the
  month (their last purchase month became `lost_after_months` old then), with the setting at refresh time.
"""

from django.db import connection, transaction
from django.utils import timezone

from onecard.core.scoping import scope
from onecard.loyalty.models import MemberTier
from onecard.members.choices import MemberStatus
from onecard.members.models import Member
from onecard.org.models import Merchant
from onecard.org.queries import merchant_ids_for

from .models import (
    AnalyticsSettings,
    ClassCell,
    ClassMoveCell,
    CohortCell,
    CountsState,
    FlowCell,
    MemberClassSnapshot,
    MemberFacts,
    MemberMonth,
    TierCell,
)
from .rebuild import local_day_sql, month_of_day_sql

COHORT_MONTHS = 12  # months kept per cohort from its join month (k = 0..11)
DEFAULT_DORMANT_DAYS = 365
CLASS_FIELDS = ("rfm_class", "abcd_class", "life_stage")

MEMBERS = Member._meta.db_table
FACTS = MemberFacts._meta.db_table
SNAPSHOTS = MemberClassSnapshot._meta.db_table
MONTHS = MemberMonth._meta.db_table
CLASS_CELLS = ClassCell._meta.db_table
MOVE_CELLS = ClassMoveCell._meta.db_table
COHORT_CELLS = CohortCell._meta.db_table
FLOW_CELLS = FlowCell._meta.db_table
TIER_CELLS = TierCell._meta.db_table
MEMBER_TIERS = MemberTier._meta.db_table
ACTIVE = f"'{MemberStatus.ACTIVE.value}'"


def lost_after_months(merchant) -> int:
    """N of "lost": the merchant's dormant_days ÷ 30, rounded, at least 1 (12 without settings)."""
    settings = AnalyticsSettings.objects.filter(merchant=merchant).first()
    days = settings.dormant_days if settings is not None else DEFAULT_DORMANT_DAYS
    return max(1, round(days / 30))


def months_later_sql(month: str, n: int) -> str:
    """SQL for the first day of the month `n` months after the month-start date expression `month`."""
    n = int(n)
    if connection.vendor == "postgresql":
        return f"(({month}) + interval '1 month' * {n})::date"
    return f"date({month}, '{n:+d} months')"


# ---- refreshing --------------------------------------------------------------------------------------------


def refresh(merchant) -> "CountsState":
    """Count the merchant's class, migration, cohort and flow cells again from the facts; the new state."""
    with transaction.atomic(), connection.cursor() as cursor:
        _one_at_a_time(merchant)
        for table in (CLASS_CELLS, MOVE_CELLS, COHORT_CELLS, FLOW_CELLS, TIER_CELLS):
            cursor.execute(f"DELETE FROM {table} WHERE merchant_id = %s", [merchant.pk])  # noqa: S608 - our names
        _count_classes(cursor, merchant.pk)
        _count_tiers(cursor, merchant.pk)
        _count_moves(cursor, merchant.pk)
        _count_cohorts(cursor, merchant.pk)
        lost_after = lost_after_months(merchant)
        _count_flows(cursor, merchant.pk, lost_after)
        months = list(
            MemberClassSnapshot.objects.filter(merchant=merchant)
            .order_by("-month")
            .values_list("month", flat=True)
            .distinct()
        )
        state, _created = CountsState.objects.update_or_create(
            merchant=merchant,
            defaults={
                "refreshed_at": timezone.now(),
                "snapshot_months": [month.isoformat() for month in months],
                "lost_after_months": lost_after,
            },
        )
    return state


def refresh_flows(merchant) -> None:
    """Count the flow cells again (the lost counts follow the dormant setting, which was just saved)."""
    with transaction.atomic(), connection.cursor() as cursor:
        _one_at_a_time(merchant)
        cursor.execute(f"DELETE FROM {FLOW_CELLS} WHERE merchant_id = %s", [merchant.pk])  # noqa: S608 - our names
        lost_after = lost_after_months(merchant)
        _count_flows(cursor, merchant.pk, lost_after)
        CountsState.objects.filter(merchant=merchant).update(lost_after_months=lost_after)


def state_of(merchant) -> "CountsState":
    """The merchant's counts state, counting the cells first when they never were (a fresh install)."""
    state = CountsState.objects.filter(merchant=merchant).first()
    return state if state is not None else refresh(merchant)


def _one_at_a_time(merchant) -> None:
    """Wait for any other refresh of the merchant to commit (two at once would each insert a full set of cells).

    NO KEY UPDATE: the rows naming the merchant (sales, members) only share its key, so they are not held up.
    """
    list(Merchant.objects.select_for_update(no_key=True).filter(pk=merchant.pk).values_list("pk", flat=True))


def _count_classes(cursor, merchant_id) -> None:
    cursor.execute(
        f"INSERT INTO {CLASS_CELLS} (merchant_id, store_id, rfm_class, abcd_class, life_stage, members) "  # noqa: S608 - our names
        "SELECT m.merchant_id, m.home_store_id, f.rfm_class, f.abcd_class, f.life_stage, COUNT(*) "
        f"FROM {FACTS} f JOIN {MEMBERS} m ON m.id = f.member_id "
        f"WHERE f.merchant_id = %s AND m.merchant_id = %s AND m.status = {ACTIVE} "
        "GROUP BY m.merchant_id, m.home_store_id, f.rfm_class, f.abcd_class, f.life_stage",
        [merchant_id, merchant_id],
    )


def _count_tiers(cursor, merchant_id) -> None:
    cursor.execute(
        f"INSERT INTO {TIER_CELLS} (merchant_id, store_id, tier_id, members) "  # noqa: S608 - our names
        f"SELECT m.merchant_id, m.home_store_id, t.tier_id, COUNT(*) FROM {MEMBER_TIERS} t "
        f"JOIN {MEMBERS} m ON m.id = t.member_id WHERE t.merchant_id = %s AND m.merchant_id = %s "
        f"AND m.status = {ACTIVE} GROUP BY m.merchant_id, m.home_store_id, t.tier_id",
        [merchant_id, merchant_id],
    )


def _count_moves(cursor, merchant_id) -> None:
    """Each snapshot of an active member against the member's snapshot of the month before, per class field."""
    before = months_later_sql("s.month", -1)
    paired = (
        f"SELECT m.home_store_id AS store_id, s.month AS month, {', '.join(f's.{f} AS now_{f}' for f in CLASS_FIELDS)}, "  # noqa: S608 - our names
        f"{', '.join(f'p.{f} AS was_{f}' for f in CLASS_FIELDS)} "
        f"FROM {SNAPSHOTS} s JOIN {MEMBERS} m ON m.id = s.member_id "
        f"LEFT JOIN {SNAPSHOTS} p ON p.member_id = s.member_id AND p.month = {before} "
        f"WHERE s.merchant_id = %s AND m.merchant_id = %s AND m.status = {ACTIVE}"
    )
    per_field = " UNION ALL ".join(
        f"SELECT store_id, month, '{f}' AS field, COALESCE(was_{f}, '') AS was, now_{f} AS now, "  # noqa: S608 - our names
        f"SUM(n) AS members FROM grouped GROUP BY store_id, month, COALESCE(was_{f}, ''), now_{f}"
        for f in CLASS_FIELDS
    )
    # The pairs are grouped once over all three fields (members share few combinations), then per field.
    columns = ", ".join(f"now_{f}, was_{f}" for f in CLASS_FIELDS)
    cursor.execute(
        f"WITH grouped AS (SELECT store_id, month, {columns}, COUNT(*) AS n FROM ({paired}) AS pairs "  # noqa: S608 - our names
        f"GROUP BY store_id, month, {columns}) "
        f"INSERT INTO {MOVE_CELLS} (merchant_id, store_id, month, field, was, now, members) "
        f"SELECT %s, store_id, month, field, was, now, members FROM ({per_field}) AS cells",
        [merchant_id, merchant_id, merchant_id],
    )


def _count_cohorts(cursor, merchant_id) -> None:
    """Cohort sizes (month null) and, for each of the first COHORT_MONTHS months, the cohort's buyers then."""
    cohort = month_of_day_sql(local_day_sql("m.created_at"))
    cursor.execute(
        f"INSERT INTO {COHORT_CELLS} (merchant_id, store_id, cohort_month, month, members) "  # noqa: S608 - our names
        "SELECT %s, store_id, cohort_month, month, COUNT(*) FROM ("
        f"SELECT m.home_store_id AS store_id, {cohort} AS cohort_month, mm.month AS month "
        f"FROM {MEMBERS} m JOIN {MONTHS} mm ON mm.member_id = m.id "
        f"WHERE m.merchant_id = %s AND m.status = {ACTIVE} AND mm.purchases > 0 "
        f"UNION ALL SELECT m.home_store_id, {cohort}, NULL FROM {MEMBERS} m "
        f"WHERE m.merchant_id = %s AND m.status = {ACTIVE}"
        ") AS joined WHERE month IS NULL OR (month >= cohort_month AND month < "
        f"{months_later_sql('cohort_month', COHORT_MONTHS)}) GROUP BY store_id, cohort_month, month",
        [merchant_id, merchant_id, merchant_id],
    )


def _count_flows(cursor, merchant_id, lost_after: int) -> None:
    """Every purchase month of an active member, with the months before and after it: new or returning, lapses."""
    lapses = months_later_sql("month", lost_after)
    cursor.execute(
        "WITH bought AS ("  # noqa: S608 - our names
        "SELECT m.home_store_id AS store_id, mm.month AS month, "
        "LAG(mm.month) OVER (PARTITION BY mm.member_id ORDER BY mm.month) AS previous, "
        "LEAD(mm.month) OVER (PARTITION BY mm.member_id ORDER BY mm.month) AS next "
        f"FROM {MONTHS} mm JOIN {MEMBERS} m ON m.id = mm.member_id "
        f"WHERE m.merchant_id = %s AND m.status = {ACTIVE} AND mm.purchases > 0) "
        # RETURNING is an SQL keyword: the column is quoted, the alias named otherwise.
        f'INSERT INTO {FLOW_CELLS} (merchant_id, store_id, month, buyers, "new", "returning", lost) '
        "SELECT %s, store_id, month, SUM(buyer), SUM(first), SUM(again), SUM(lapsed) FROM ("
        "SELECT store_id, month, 1 AS buyer, CASE WHEN previous IS NULL THEN 1 ELSE 0 END AS first, "
        "CASE WHEN previous IS NULL THEN 0 ELSE 1 END AS again, 0 AS lapsed FROM bought "
        f"UNION ALL SELECT store_id, {lapses}, 0, 0, 0, 1 FROM bought "
        f"WHERE next IS NULL OR next > {lapses}"
        ") AS flows GROUP BY store_id, month",
        [merchant_id, merchant_id],
    )


# ---- reading -----------------------------------------------------------------------------------------------


def cells_in_scope(model, user, merchant, store=None):
    """The rows of `model` (a cell model) of the home stores whose members the user may see, as visible_members.

    Head office and a system administrator see every store and the members without one; anyone else the
    stores of their node and below. With `store` (already checked to be in scope), that store only.
    """
    qs = model.objects.filter(merchant=merchant)
    if merchant.pk not in merchant_ids_for(user):
        return qs.none()
    if store is not None:
        return qs.filter(store=store)
    if user.node_id and user.node.parent_id is None:
        return qs
    return scope(qs, user, "store")
