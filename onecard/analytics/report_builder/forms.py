"""The builder's form: its query parameters turned into a definition (a plain dict) and back.

The page is a plain GET form that reloads: the dataset select, the picked fields, a few rows each of
filters (field, operator, value, second value), groupings (field, by day/month/year) and totals
(function, field), a sort column and a row limit. Amounts are typed in yuan and stored in fen; "is one
of" takes values separated by commas. The definition it gives is checked by definition.validate.
"""

from django.http import QueryDict
from django.utils.translation import gettext as _

from onecard.analytics.report_builder.catalogue import DATASETS, FieldType
from onecard.core.money import fen_to_yuan_str, yuan_str_to_fen

FILTER_ROWS = 4
GROUP_ROWS = 2
AGGREGATE_ROWS = 3


def _split(text):
    return [part.strip() for part in text.replace("，", ",").replace("、", ",").split(",") if part.strip()]


def _filter_value(field, op, text, errors):
    """A typed value of the form as the definition stores it (amounts in fen)."""
    if op == "in":
        return [_scalar(field, part, errors) for part in _split(text)]
    return _scalar(field, text.strip(), errors)


def _scalar(field, text, errors):
    if field is not None and field.type == FieldType.MONEY:
        try:
            return yuan_str_to_fen(text)
        except ValueError:
            errors.append(
                _("“%(value)s” is not an amount in yuan (for “%(field)s”).")
                % {"value": text, "field": field.label}
            )
            return None
    return text


def definition_from_params(params) -> tuple[dict, list]:
    """The definition the form describes, and the form's own mistakes (amounts that are not yuan)."""
    dataset = DATASETS.get(params.get("dataset"))
    definition = {"dataset": params.get("dataset", "")}
    errors = []
    if dataset is None:
        return definition, errors
    definition["fields"] = params.getlist("fields")
    definition["filters"] = _filters(dataset, params, errors)
    definition["group_by"] = [
        {"field": params[f"g{i}_field"], "trunc": params.get(f"g{i}_trunc", "")}
        for i in range(GROUP_ROWS)
        if params.get(f"g{i}_field")
    ]
    definition["aggregates"] = [
        {"fn": params[f"a{i}_fn"], "field": params.get(f"a{i}_field", "")}
        for i in range(AGGREGATE_ROWS)
        if params.get(f"a{i}_fn")
    ]
    if params.get("order"):
        definition["order"] = [{"column": params["order"], "desc": params.get("desc") == "1"}]
    if params.get("limit"):
        definition["limit"] = params["limit"]
    return definition, errors


def _filters(dataset, params, errors):
    filters = []
    for i in range(FILTER_ROWS):
        key, op = params.get(f"f{i}_field"), params.get(f"f{i}_op", "")
        if not key:
            continue
        field = dataset.field(key)
        if op == "last_days":
            value = params.get(f"f{i}_value", "").strip()
        elif op == "between":
            low, high = params.get(f"f{i}_value", ""), params.get(f"f{i}_value2", "")
            value = [_scalar(field, low.strip(), errors), _scalar(field, high.strip(), errors)]
        else:
            value = _filter_value(field, op, params.get(f"f{i}_value", ""), errors)
        filters.append({"field": key, "op": op, "value": value})
    return filters


def params_from_definition(definition: dict) -> QueryDict:
    """The form's query parameters for a stored definition (to open a saved report in the builder)."""
    params = QueryDict(mutable=True)
    params["dataset"] = definition.get("dataset", "")
    dataset = DATASETS.get(definition.get("dataset"))
    params.setlist("fields", list(definition.get("fields") or []))
    for i, item in enumerate((definition.get("filters") or [])[:FILTER_ROWS]):
        field = dataset.field(item["field"]) if dataset else None
        values = item["value"] if isinstance(item["value"], list) else [item["value"]]
        texts = [_value_text(field, item["op"], v) for v in values]
        params[f"f{i}_field"], params[f"f{i}_op"] = item["field"], item["op"]
        if item["op"] == "between":
            params[f"f{i}_value"], params[f"f{i}_value2"] = texts
        else:
            params[f"f{i}_value"] = ", ".join(texts)
    for i, item in enumerate((definition.get("group_by") or [])[:GROUP_ROWS]):
        params[f"g{i}_field"], params[f"g{i}_trunc"] = item["field"], item.get("trunc", "")
    for i, item in enumerate((definition.get("aggregates") or [])[:AGGREGATE_ROWS]):
        params[f"a{i}_fn"], params[f"a{i}_field"] = item["fn"], item.get("field", "")
    for item in (definition.get("order") or [])[:1]:
        params["order"], params["desc"] = item["column"], "1" if item.get("desc") else ""
    if definition.get("limit"):
        params["limit"] = str(definition["limit"])
    return params


def _value_text(field, op, value) -> str:
    if field is not None and field.type == FieldType.MONEY and op != "last_days" and isinstance(value, int):
        return fen_to_yuan_str(value)
    return str(value)


def form_rows(params):
    """The filter, grouping and total rows of the form with what is typed in them (for the template)."""
    filters = [
        {
            "i": i,
            "field": params.get(f"f{i}_field", ""),
            "op": params.get(f"f{i}_op", ""),
            "value": params.get(f"f{i}_value", ""),
            "value2": params.get(f"f{i}_value2", ""),
        }
        for i in range(FILTER_ROWS)
    ]
    groups = [
        {"i": i, "field": params.get(f"g{i}_field", ""), "trunc": params.get(f"g{i}_trunc", "")}
        for i in range(GROUP_ROWS)
    ]
    aggregates = [
        {"i": i, "fn": params.get(f"a{i}_fn", ""), "field": params.get(f"a{i}_field", "")}
        for i in range(AGGREGATE_ROWS)
    ]
    return {"filter_rows": filters, "group_rows": groups, "aggregate_rows": aggregates}
