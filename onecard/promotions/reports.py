"""Promotion and coupon reports, the parts that read no sale: the report's period and the coupon liability.

All amounts are integer fen. A period is whole local days (Asia/Shanghai), `first` to `last` included.

Outstanding coupon liability, now, whatever the period: per template, the coupons issued and neither
used up, expired nor void, and their face value: a cash voucher its value; a gift coupon its gift
product's current list price; a discount or count coupon has no face value and counts 0 (their number,
and a count coupon's uses left, are shown instead).

What each promotion and coupon template did in the sales of a period is sales.reports (the sales app
reads promotions, never the other way round).
"""

import datetime
from dataclasses import dataclass, field

from django.db.models import Count, Sum
from django.utils import timezone

from onecard.catalog.models import Product

from .coupon_choices import CouponKind, CouponStatus

DEFAULT_DAYS = 30
MAX_DAYS = 3 * 366


@dataclass(frozen=True)
class Period:
    """Whole local days from `first` to `last`, both included."""

    first: datetime.date
    last: datetime.date

    @property
    def start(self) -> datetime.datetime:
        return _midnight(self.first)

    @property
    def end(self) -> datetime.datetime:
        """Exclusive: midnight after `last`."""
        return _midnight(self.last + datetime.timedelta(days=1))

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def _midnight(day):
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=timezone.get_current_timezone())


def _date(text):
    try:
        return datetime.date.fromisoformat((text or "").strip())
    except ValueError:
        return None


def period_from(params, today=None) -> Period:
    """The period of ?from=&to= (ISO dates); the last 30 days to today by default; swapped if reversed,
    and at most three years long (counted back from `to`)."""
    today = today or timezone.localdate()
    last = _date(params.get("to")) or today
    first = _date(params.get("from")) or last - datetime.timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        first, last = last, first
    first = max(first, last - datetime.timedelta(days=MAX_DAYS - 1))
    return Period(first, last)


def period_export_query(params, period) -> str:
    """The query string of the page's .xlsx export: its filters, with the period as it was read."""
    query = params.copy()
    query["from"], query["to"], query["export"] = period.first.isoformat(), period.last.isoformat(), "xlsx"
    return query.urlencode()


# ---- coupon liability ----------------------------------------------------------------------------------------


@dataclass
class LiabilityLine:
    """What one template's outstanding coupons owe now (the total line has no template)."""

    template: object = None
    outstanding: int = 0
    uses_left: int = 0
    face_value: int | None = None  # per coupon; None: the kind has none
    liability: int = 0


@dataclass
class Report:
    """Lines and their total line."""

    lines: list = field(default_factory=list)
    total: object = None


def face_values(templates) -> dict:
    """{template id: fen one coupon is worth, or None}: cash its value, gift its product's list price."""
    gifts = {t.gift_product_id for t in templates if t.kind == CouponKind.GIFT and t.gift_product_id}
    prices = dict(Product.objects.filter(pk__in=gifts).values_list("pk", "list_price")) if gifts else {}
    values = {}
    for template in templates:
        if template.kind == CouponKind.CASH:
            values[template.pk] = template.value
        elif template.kind == CouponKind.GIFT:
            values[template.pk] = prices.get(template.gift_product_id)
        else:
            values[template.pk] = None
    return values


def liability_report(templates, coupons, *, now=None) -> Report:
    """The outstanding coupons of each template now and what they owe (rules in the module docstring)."""
    now = now or timezone.now()
    rows = (
        coupons.filter(status=CouponStatus.ISSUED, valid_until__gt=now)
        .values("template_id")
        .annotate(n=Count("id"), uses=Sum("uses_left"))
        .order_by()
    )
    outstanding = {row["template_id"]: (row["n"], row["uses"] or 0) for row in rows}
    shown = list(templates.filter(pk__in=list(outstanding)).order_by("name", "pk"))
    values = face_values(shown)
    lines = []
    for template in shown:
        count, uses = outstanding[template.pk]
        value = values[template.pk]
        lines.append(
            LiabilityLine(
                template=template,
                outstanding=count,
                uses_left=uses if template.kind == CouponKind.COUNT else 0,
                face_value=value,
                liability=count * (value or 0),
            )
        )
    lines.sort(key=lambda line: (-line.liability, line.template.name))
    total = LiabilityLine(
        outstanding=sum(line.outstanding for line in lines),
        uses_left=sum(line.uses_left for line in lines),
        liability=sum(line.liability for line in lines),
    )
    return Report(lines, total)
