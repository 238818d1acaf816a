"""A report definition: plain JSON, checked against the catalogue before anything runs or is saved.

    {"dataset": "sales",
     "fields": ["date", "store", "total_due"],              # listed rows (ignored when grouping)
     "filters": [{"field": "date", "op": "last_days", "value": 30},
                 {"field": "total_due", "op": "between", "value": [1000, 50000]}],   # money in fen
     "group_by": [{"field": "date", "trunc": "month"}, {"field": "store"}],
     "aggregates": [{"fn": "count"}, {"fn": "sum", "field": "total_due"}],
     "order": [{"column": "sum_total_due", "desc": true}],
     "limit": 100}

With `group_by` or `aggregates` the report has one row per group (or one row of totals); otherwise one
row per record with the picked `fields`. Columns are named by field key, "<field>_<trunc>" for a date
grouping, "count" and "<fn>_<field>" for aggregates; `order` names columns. Dates are "YYYY-MM-DD",
local days; a filter on a time compares its local date. Anything else is refused with a message per
mistake (ValidationFailed on "definition"), so no unknown name or value ever reaches the ORM.
"""

import datetime
from dataclasses import dataclass

from django.utils.translation import gettext as _

from onecard.analytics.report_builder.catalogue import (
    AGGREGATES_WITHOUT_FIELD,
    DATASETS,
    TRUNCATION_LABELS,
    Dataset,
    Field,
    FieldType,
)
from onecard.core.errors import ValidationFailed

MAX_COLUMNS = 30
MAX_FILTERS = 10
MAX_GROUPS = 3
MAX_ORDER = 3
MAX_IN_VALUES = 50
MAX_LIMIT = 100_000
MAX_DAYS = 3660
MAX_NUMBER = 10**15


@dataclass(frozen=True)
class Filter:
    """One condition: `field` `op` `value` (a list for "in" and "between")."""

    field: Field
    op: str
    value: object


@dataclass(frozen=True)
class Grouping:
    """Group by a field; a date by day, month or year."""

    field: Field
    trunc: str = ""

    @property
    def key(self) -> str:
        return f"{self.field.key}_{self.trunc}" if self.trunc else self.field.key


@dataclass(frozen=True)
class Aggregate:
    """A count of rows, or a sum, average, minimum or maximum of a number or an amount."""

    fn: str
    field: Field | None = None

    @property
    def key(self) -> str:
        return f"{self.fn}_{self.field.key}" if self.field else self.fn


@dataclass(frozen=True)
class Column:
    """One column of the result: its key, what it shows and how (the type of its values)."""

    key: str
    label: str
    type: str
    field: Field | None = None
    trunc: str = ""


@dataclass(frozen=True)
class Definition:
    """A checked definition: the catalogue's objects in place of the names of the JSON."""

    dataset: Dataset
    fields: tuple = ()
    filters: tuple = ()
    group_by: tuple = ()
    aggregates: tuple = ()
    order: tuple = ()  # (column key, descending)
    limit: int | None = None

    @property
    def grouped(self) -> bool:
        return bool(self.group_by or self.aggregates)

    @property
    def columns(self) -> list[Column]:
        """The result's columns, in order."""
        if not self.grouped:
            return [Column(f.key, str(f.label), f.type, f) for f in self.fields]
        columns = [_group_column(g) for g in self.group_by]
        return columns + [_aggregate_column(a) for a in self.aggregates]

    def as_json(self) -> dict:
        """The definition as it is stored (names only, in a fixed shape)."""
        data = {"dataset": self.dataset.key, "fields": [f.key for f in self.fields]}
        data["filters"] = [{"field": f.field.key, "op": f.op, "value": f.value} for f in self.filters]
        data["group_by"] = [{"field": g.field.key, "trunc": g.trunc} for g in self.group_by]
        data["aggregates"] = [{"fn": a.fn, "field": a.field.key if a.field else ""} for a in self.aggregates]
        data["order"] = [{"column": key, "desc": desc} for key, desc in self.order]
        data["limit"] = self.limit
        return data


def _group_column(grouping) -> Column:
    label = str(grouping.field.label)
    if grouping.trunc:
        label = f"{label} ({TRUNCATION_LABELS[grouping.trunc]})"
    return Column(grouping.key, label, grouping.field.type, grouping.field, grouping.trunc)


def _aggregate_column(aggregate) -> Column:
    if aggregate.field is None:
        return Column(aggregate.key, _("Count"), FieldType.NUMBER)
    label = _("%(fn)s of %(field)s") % {"fn": _aggregate_name(aggregate.fn), "field": aggregate.field.label}
    kind = FieldType.NUMBER if aggregate.fn == "count" else aggregate.field.type
    return Column(aggregate.key, label, kind, aggregate.field)


def _aggregate_name(fn) -> str:
    return {"sum": _("Sum"), "avg": _("Average"), "min": _("Minimum"), "max": _("Maximum")}.get(fn, fn)


def validate(raw) -> Definition:
    """The checked definition of `raw` (a dict as decoded from JSON), or ValidationFailed listing every mistake."""
    errors = []
    if not isinstance(raw, dict):
        raise ValidationFailed({"definition": [_("A report definition must be a JSON object.")]})
    dataset = DATASETS.get(raw.get("dataset"))
    if dataset is None:
        raise ValidationFailed(
            {"definition": [_("Choose a dataset: %(names)s.") % {"names": ", ".join(DATASETS)}]}
        )
    unknown = set(raw) - {"dataset", "fields", "filters", "group_by", "aggregates", "order", "limit"}
    if unknown:
        errors.append(_("Unknown part of the definition: %(names)s.") % {"names": ", ".join(sorted(unknown))})
    checker = _Checker(dataset, errors)
    fields = checker.fields(raw.get("fields"))
    filters = checker.filters(raw.get("filters"))
    group_by = checker.group_by(raw.get("group_by"))
    aggregates = checker.aggregates(raw.get("aggregates"))
    definition = Definition(dataset, fields, filters, group_by, aggregates)
    if not definition.columns:
        errors.append(_("Pick at least one field, grouping or total."))
    order = checker.order(raw.get("order"), [c.key for c in definition.columns])
    limit = checker.limit(raw.get("limit"))
    if len(definition.columns) > MAX_COLUMNS:
        errors.append(_("A report has at most %(n)d columns.") % {"n": MAX_COLUMNS})
    if errors:
        raise ValidationFailed({"definition": errors})
    return Definition(dataset, fields, filters, group_by, aggregates, order, limit)


class _Checker:
    """Checks each part of a definition against one dataset, appending a message per mistake to `errors`."""

    def __init__(self, dataset, errors):
        self.dataset = dataset
        self.errors = errors

    def _list(self, value, part, most):
        if value in (None, ""):
            return []
        if not isinstance(value, list):
            self.errors.append(_("“%(part)s” must be a list.") % {"part": part})
            return []
        if len(value) > most:
            self.errors.append(_("“%(part)s” has at most %(n)d entries.") % {"part": part, "n": most})
            return []
        return value

    def _field(self, key):
        found = self.dataset.field(key) if isinstance(key, str) else None
        if found is None:
            self.errors.append(
                _("The dataset “%(dataset)s” has no field “%(field)s”.")
                % {"dataset": self.dataset.label, "field": key}
            )
        return found

    def fields(self, value):
        found = [self._field(key) for key in self._list(value, "fields", MAX_COLUMNS)]
        return tuple(dict.fromkeys(f for f in found if f is not None))

    def filters(self, value):
        result = []
        for item in self._list(value, "filters", MAX_FILTERS):
            if not isinstance(item, dict):
                self.errors.append(_("A filter must name a field, an operator and a value."))
                continue
            field = self._field(item.get("field"))
            if field is None:
                continue
            op = item.get("op")
            if op not in field.operators:
                self.errors.append(
                    _("The field “%(field)s” cannot be filtered with “%(op)s”.")
                    % {"field": field.label, "op": op}
                )
                continue
            checked = self._filter_value(field, op, item.get("value"))
            if checked is not None:
                result.append(Filter(field, op, checked))
        return tuple(result)

    def _filter_value(self, field, op, value):
        """The value of a filter in its stored form, or None (and a message) when it is not valid."""
        if op == "last_days":
            days = _as_int(value)
            if days is None or not 1 <= days <= MAX_DAYS:
                return self._bad_value(field, value, _("a number of days from 1 to %(n)d") % {"n": MAX_DAYS})
            return days
        if op in ("between", "in"):
            size_ok = isinstance(value, list) and (
                len(value) == 2 if op == "between" else 1 <= len(value) <= MAX_IN_VALUES
            )
            if not size_ok:
                expected = (
                    _("two values")
                    if op == "between"
                    else _("a list of 1 to %(n)d values") % {"n": MAX_IN_VALUES}
                )
                return self._bad_value(field, value, expected)
            values = [self._one_value(field, v) for v in value]
            return None if any(v is None for v in values) else values
        return self._one_value(field, value)

    def _one_value(self, field, value):
        if field.type == FieldType.DATE:
            try:
                return datetime.date.fromisoformat(value).isoformat()
            except (TypeError, ValueError):
                return self._bad_value(field, value, _("a date such as 2026-03-31"))
        if field.type in (FieldType.NUMBER, FieldType.MONEY):
            number = _as_int(value)
            if number is None or abs(number) > MAX_NUMBER:
                expected = (
                    _("a whole number of fen") if field.type == FieldType.MONEY else _("a whole number")
                )
                return self._bad_value(field, value, expected)
            return number
        if field.type == FieldType.CHOICE:
            if value not in {v for v, _label in field.choices}:
                labels = "、".join(str(label) for _v, label in field.choices)
                return self._bad_value(field, value, _("one of %(labels)s") % {"labels": labels})
            return value
        if not isinstance(value, str) or not value.strip() or len(value) > 200:
            return self._bad_value(field, value, _("a text of 1 to 200 characters"))
        return value.strip()

    def _bad_value(self, field, value, expected):
        self.errors.append(
            _("“%(value)s” is not a valid value for “%(field)s”: expected %(expected)s.")
            % {"value": value, "field": field.label, "expected": expected}
        )

    def group_by(self, value):
        result = []
        for item in self._list(value, "group_by", MAX_GROUPS):
            item = item if isinstance(item, dict) else {"field": item}
            field = self._field(item.get("field"))
            if field is None:
                continue
            if not field.groupable:
                self.errors.append(_("The field “%(field)s” cannot be grouped by.") % {"field": field.label})
                continue
            trunc = item.get("trunc") or ""
            if field.type == FieldType.DATE:
                trunc = trunc or "day"
                if trunc not in TRUNCATION_LABELS:
                    self.errors.append(_("Group dates by day, month or year."))
                    continue
            elif trunc:
                self.errors.append(_("Only dates are grouped by day, month or year."))
                continue
            result.append(Grouping(field, trunc))
        return tuple(dict.fromkeys(result))

    def aggregates(self, value):
        result = []
        for item in self._list(value, "aggregates", MAX_COLUMNS):
            fn = item.get("fn") if isinstance(item, dict) else None
            key = item.get("field") if isinstance(item, dict) else None
            if fn in AGGREGATES_WITHOUT_FIELD and not key:
                result.append(Aggregate(fn))
                continue
            if fn not in ("sum", "avg", "min", "max"):
                self.errors.append(_("Totals are a count, sum, average, minimum or maximum."))
                continue
            field = self._field(key)
            if field is not None and not field.numeric:
                self.errors.append(_("Only numbers and amounts can be summed or averaged."))
            elif field is not None:
                result.append(Aggregate(fn, field))
        return tuple(dict.fromkeys(result))

    def order(self, value, columns):
        result = []
        for item in self._list(value, "order", MAX_ORDER):
            key = item.get("column") if isinstance(item, dict) else None
            if key not in columns:
                self.errors.append(
                    _("Sort by one of the report's columns, not “%(column)s”.") % {"column": key}
                )
                continue
            result.append((key, bool(item.get("desc"))))
        return tuple(result)

    def limit(self, value):
        if value in (None, ""):
            return None
        limit = _as_int(value)
        if limit is None or not 1 <= limit <= MAX_LIMIT:
            self.errors.append(_("The row limit is a number from 1 to %(n)d.") % {"n": MAX_LIMIT})
            return None
        return limit


def _as_int(value):
    """An integer from an int or a text of digits; None for anything else (booleans and fractions too)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None
