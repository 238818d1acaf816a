"""Running a checked definition for a viewer: the ORM query (values/annotate, no SQL text) and its cells.

The rows are the dataset's rows scoped to the viewer, so one saved definition sums one store for its
store manager and every store for head office. Result columns are selected under the aliases c0, c1...
so that no field key can clash with a model field. Amounts stay in fen; an average is rounded half up
to a whole fen (a number's to two decimals). Phone numbers are masked unless the viewer holds
members.reveal_pii.
"""

import datetime
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Avg, Count, F, Max, Min, Q, Sum
from django.db.models.functions import TruncDate, TruncDay, TruncMonth, TruncYear
from django.utils import timezone

from onecard.analytics.report_builder.catalogue import FieldType
from onecard.core.masking import mask_phone
from onecard.core.money import fen_to_yuan_str

AGGREGATE_FUNCTIONS = {"sum": Sum, "avg": Avg, "min": Min, "max": Max}
TRUNCATE = {"month": TruncMonth, "year": TruncYear}
DATE_FORMATS = {"month": "%Y-%m", "year": "%Y"}


@dataclass
class Result:
    """The columns of a run and its rows: a lazy queryset of dicts (aliases c0..), or a list of one row."""

    definition: object
    columns: list
    rows: object
    reveal: bool = False

    def values(self, row) -> list:
        """One row (a dict of aliases) as plain values in column order, phone numbers masked."""
        return [self._plain(column, row.get(f"c{i}")) for i, column in enumerate(self.columns)]

    def texts(self, row) -> list:
        """One row as the page shows it: amounts in yuan, choices by label, dates as local days."""
        return [_text(column, value) for column, value in zip(self.columns, self.values(row), strict=True)]

    def all_values(self):
        """Every row as plain values (the limit of the definition applies)."""
        for row in self.rows:
            yield self.values(row)

    def export_header(self) -> list:
        """The column labels of the workbook; amounts are in yuan there."""
        return [f"{c.label} (¥)" if c.type == FieldType.MONEY else c.label for c in self.columns]

    def export_rows(self):
        """Every row as the workbook holds it: amounts as yuan (Decimal), choices by label."""
        for values in self.all_values():
            yield [_export_cell(c, v) for c, v in zip(self.columns, values, strict=True)]

    def _plain(self, column, value):
        if column.field is not None and column.field.masked and not self.reveal:
            return mask_phone(value)
        if column.type == FieldType.MONEY and isinstance(value, (Decimal, float)):
            return int(Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        if isinstance(value, (Decimal, float)):
            # PostgreSQL sums integers as numeric: a whole number stays an int; an average keeps 2 decimals.
            exact = Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
            return int(exact) if exact == exact.to_integral_value() else float(exact)
        if isinstance(value, datetime.datetime) and (column.trunc or not column.field.moment):
            return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
        if isinstance(value, datetime.datetime):
            return timezone.localtime(value).replace(tzinfo=None)
        return value


def _export_cell(column, value):
    if value is None:
        return None
    if column.type == FieldType.MONEY:
        return Decimal(value) / 100
    if column.type == FieldType.CHOICE:
        return column.field.choice_label(value)
    return value


def _text(column, value) -> str:
    if value is None:
        return ""
    if column.type == FieldType.MONEY:
        return fen_to_yuan_str(value)
    if column.type == FieldType.CHOICE:
        return column.field.choice_label(value)
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, datetime.date):
        return value.strftime(DATE_FORMATS.get(column.trunc, "%Y-%m-%d"))
    return str(value)


def run(definition, user, merchant) -> Result:
    """The definition's rows for `user` among `merchant`'s records in the user's scope."""
    rows = definition.dataset.rows(user, merchant).order_by()
    rows = rows.filter(*[_condition(f) for f in definition.filters])
    reveal = user.has_perm("members.reveal_pii")
    columns = definition.columns
    if definition.grouped and not definition.group_by:
        totals = rows.aggregate(**{f"c{i}": _aggregate(a) for i, a in enumerate(definition.aggregates)})
        return Result(definition, columns, [totals], reveal)
    if definition.grouped:
        groups = {f"c{i}": _grouping(g) for i, g in enumerate(definition.group_by)}
        offset = len(groups)
        sums = {f"c{offset + i}": _aggregate(a) for i, a in enumerate(definition.aggregates)}
        rows = rows.values(**groups).annotate(**sums)
        default_order = list(groups)
    else:
        rows = rows.values(**{f"c{i}": F(f.path) for i, f in enumerate(definition.fields)})
        # Newest first, as the lists of the project show them; the primary key keeps pages stable.
        default_order = ["-pk"]
    aliases = {column.key: f"c{i}" for i, column in enumerate(columns)}
    order = [
        F(aliases[key]).desc(nulls_last=True) if desc else F(aliases[key]).asc()
        for key, desc in definition.order
    ]
    rows = rows.order_by(*order, *default_order)
    if definition.limit:
        rows = rows[: definition.limit]
    return Result(definition, columns, rows, reveal)


def _grouping(grouping):
    field = grouping.field
    if field.type != FieldType.DATE:
        return F(field.path)
    if grouping.trunc == "day":
        # A time is grouped by its local day; a date is its own day.
        return TruncDate(field.path) if field.moment else TruncDay(field.path)
    return TRUNCATE[grouping.trunc](field.path)


def _aggregate(aggregate):
    if aggregate.field is None:
        return Count("pk")
    return AGGREGATE_FUNCTIONS[aggregate.fn](aggregate.field.path)


def _condition(filter_) -> Q:
    """The Q object of one checked filter; a time's filter compares its local date."""
    field, op, value = filter_.field, filter_.op, filter_.value
    path = f"{field.path}__date" if field.moment else field.path
    if field.type == FieldType.DATE and op != "last_days":
        value = (
            [datetime.date.fromisoformat(v) for v in value]
            if isinstance(value, list)
            else datetime.date.fromisoformat(value)
        )
    if op == "eq":
        return Q(**{path: value})
    if op == "in":
        return Q(**{f"{path}__in": value})
    if op == "contains":
        return Q(**{f"{path}__icontains": value})
    if op == "gt":
        return Q(**{f"{path}__gt": value})
    if op == "lt":
        return Q(**{f"{path}__lt": value})
    if op == "between":
        low, high = sorted(value)
        return Q(**{f"{path}__gte": low, f"{path}__lte": high})
    # last_days: today and the N − 1 days before it, in local days.
    first = timezone.localdate() - datetime.timedelta(days=value - 1)
    return Q(**{f"{path}__gte": first})
