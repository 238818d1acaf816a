"""Whose and which figures a dashboard draws: the viewer's scope (stores, or a cashier's own sales) and the period.

A scope is the user's org node (HQ and region: the stores below; a store: itself) or, for a cashier, the
sales they made themselves (`actor`). A period is the last 30 local days by day or the last 12 local
months by month (Asia/Shanghai); its last bucket is the one not over yet. Its `rolled_through` says up to
which closed day the rollups are read (analytics.dashboards.rollup); the days after it are read raw.
"""

import datetime
from dataclasses import dataclass

from django.db.models import DateField, F, Q
from django.db.models.functions import Trunc
from django.utils import timezone

from onecard.core.queries import local_midnight
from onecard.core.scoping import scope_node_ids
from onecard.loyalty.models import Card
from onecard.loyalty.models.stored_value import CardTxKind
from onecard.members.choices import MemberStatus
from onecard.sales.models import SaleKind

# The kinds that took money; an imported history (a kind added for the historical import) is left out.
MONEY_KINDS = (SaleKind.CHECKOUT, SaleKind.CHARGE, SaleKind.CAPTURE, SaleKind.PACKAGE_USE)
PERIODS = {"30d": ("day", 30), "12m": ("month", 12)}
DEFAULT_PERIOD = "30d"


# ---- scope and period ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DashboardScope:
    """Whose figures: a merchant's, at the nodes `node_ids` (None: all), and for a cashier only their own."""

    audience: str  # "hq", "region", "store" or "cashier"
    merchant_id: int
    node_ids: tuple | None
    actor_id: int | None = None

    @classmethod
    def for_user(cls, user, merchant, *, cashier=False):
        """The scope of `user`'s dashboard; `cashier`: the sales they made themselves."""
        ids = scope_node_ids(user)
        node_ids = None if ids is None else tuple(ids)
        if cashier:
            return cls("cashier", merchant.pk, node_ids, actor_id=user.pk)
        node = user.node if user.node_id else None
        return cls(node.kind if node is not None else "hq", merchant.pk, node_ids)

    @property
    def is_cashier(self) -> bool:
        """True for the cashier dashboard: only the user's own sales and top-ups."""
        return self.actor_id is not None

    def _nodes(self, path) -> Q:
        return Q() if self.node_ids is None else Q(**{f"{path}__in": self.node_ids})

    def sales(self, period, prefix="", *, since=None):
        """A Q over `Sale` (or a model reaching it by `prefix`, e.g. "sale__"): money sales in scope and period.

        `since`: a later start than the period's (the first moment not rolled up).
        """
        q = Q(
            **{
                f"{prefix}merchant_id": self.merchant_id,
                f"{prefix}kind__in": MONEY_KINDS,
                f"{prefix}created_at__gte": since or period.start,
                f"{prefix}created_at__lt": period.end,
            }
        ) & self._nodes(f"{prefix}store_id")
        if self.actor_id is not None:
            q &= Q(**{f"{prefix}actor_id": self.actor_id})
        return q

    def topups(self, period, *, since=None):
        """A Q over `CardTransaction`: top-ups made in scope (a cashier: by them) in the period (from `since`)."""
        q = Q(
            kind=CardTxKind.TOPUP,
            card__merchant_id=self.merchant_id,
            created_at__gte=since or period.start,
            created_at__lt=period.end,
        ) & self._nodes("store_id")
        if self.actor_id is not None:
            q &= Q(actor_id=self.actor_id)
        return q

    def members(self, prefix=""):
        """A Q over `Member` (or through `prefix`): active members whose home store is in scope."""
        return Q(
            **{f"{prefix}merchant_id": self.merchant_id, f"{prefix}status": MemberStatus.ACTIVE}
        ) & self._nodes(f"{prefix}home_store_id")

    def liability_accounts(self, kinds, prefix=""):
        """A Q over `Account` (or through `prefix`): the card accounts of `kinds` issued in scope."""
        cards = Card.objects.filter(Q(merchant_id=self.merchant_id) & self._nodes("issued_store_id"))
        return Q(**{f"{prefix}kind__in": kinds, f"{prefix}card_id__in": cards.values("pk")})

    def rolled(self, period, *, months=False) -> Q | None:
        """A Q over the rollup tables: the scope's stores on the period's rolled days; None when none is rolled.

        `months`: over StoreMonthProduct, whose month rows hold every rolled day of their month.
        """
        days = period.rolled_days()
        if days is None or self.is_cashier:
            return None
        if months:
            when = Q(month__gte=days[0].replace(day=1), month__lte=days[1].replace(day=1))
        else:
            when = Q(day__gte=days[0], day__lte=days[1])
        return Q(merchant_id=self.merchant_id) & when & self._nodes("store_id")

    def live_since(self, period):
        """The first moment the raw rows are read from: the period's start, or the day after the rolled ones."""
        days = period.rolled_days()
        if days is None or self.is_cashier:
            return period.start
        return local_midnight(days[1] + datetime.timedelta(days=1))


def _month_add(day, months):
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    return datetime.date(year, month + 1, 1)


@dataclass(frozen=True)
class Period:
    """The buckets drawn: `grain` ("day" or "month"), their first days, and [start, end) in aware time."""

    code: str
    grain: str
    buckets: tuple
    rolled_through: datetime.date | None = None  # the days up to it are read from the rollups

    @classmethod
    def last(cls, code=DEFAULT_PERIOD, today=None, rolled_through=None):
        """The last 30 days or 12 months up to `today` (local) included; an unknown code is the default.

        `rolled_through`: the last day of the merchant's rollups (rollup.rolled_through), None to read raw rows.
        """
        code = code if code in PERIODS else DEFAULT_PERIOD
        grain, count = PERIODS[code]
        today = today or timezone.localdate()
        if grain == "day":
            buckets = tuple(today - datetime.timedelta(days=n) for n in range(count - 1, -1, -1))
        else:
            buckets = tuple(_month_add(today.replace(day=1), -n) for n in range(count - 1, -1, -1))
        return cls(code, grain, buckets, rolled_through)

    def next_bucket(self, day):
        """The first day of the bucket after the one starting on `day`."""
        return day + datetime.timedelta(days=1) if self.grain == "day" else _month_add(day, 1)

    @property
    def start(self):
        """The period's first moment: local midnight of its first bucket."""
        return local_midnight(self.buckets[0])

    @property
    def end(self):
        """The moment after the period: local midnight after its last bucket (still to come)."""
        return local_midnight(self.next_bucket(self.buckets[-1]))

    def rolled_days(self):
        """(first, last) of the period's days read from the rollups, or None when none of them is."""
        if self.rolled_through is None or self.rolled_through < self.buckets[0]:
            return None
        last_day = self.next_bucket(self.buckets[-1]) - datetime.timedelta(days=1)
        return self.buckets[0], min(self.rolled_through, last_day)

    def rolled_bucket(self):
        """The bucket of a rollup row's `day`, computed by the database."""
        if self.grain == "day":
            return F("day")
        return Trunc("day", "month", output_field=DateField())

    def bucket(self, text):
        """The bucket named by `text` (its first day, ISO), or None when it is not one of the period's."""
        try:
            day = datetime.date.fromisoformat(text or "")
        except ValueError:
            return None
        return day if day in self.buckets else None

    def bounds(self, day):
        """[start, end) of one bucket, in aware time."""
        return local_midnight(day), local_midnight(self.next_bucket(day))

    def label(self, day) -> str:
        """The bucket as shown: 2026-12-07 for a day, 2026-12 for a month."""
        return day.isoformat() if self.grain == "day" else day.strftime("%Y-%m")

    def trunc(self, path):
        """The local day or month of the datetime at `path`, computed by the database."""
        return Trunc(path, self.grain, output_field=DateField(), tzinfo=timezone.get_current_timezone())
