"""Raw-SQL rows turned into model instances or plain objects, for the hot read paths.

Some reads (a charge's card, a quote's products and coupons) cost more for the ORM to compile
than for the database to run, so they are written by hand. This module is the one place that
turns such rows back into what the rest of the code expects: model instances converted exactly
as the ORM converts them (`instance`), or plain dataclasses (`one`, `every`).
"""

from dataclasses import fields as dataclass_fields
from functools import cache

from django.db import connection
from django.db.models.expressions import Col


@cache
def fields(model, names=None) -> tuple:
    """The model's concrete fields (those named, in model order; the primary key always), as selected."""
    chosen = tuple(model._meta.concrete_fields)
    if names is not None:
        wanted = {model._meta.pk.name, *names}
        chosen = tuple(field for field in chosen if field.name in wanted or field.attname in wanted)
    return chosen


def column_list(model, alias: str, names=None) -> str:
    """'alias.col1, alias.col2, ...' for `fields(model, names)`."""
    q = connection.ops.quote_name
    return ", ".join(f"{alias}.{q(field.column)}" for field in fields(model, names))


def column(model, name: str) -> str:
    """The quoted column of field `name` of `model`."""
    return connection.ops.quote_name(model._meta.get_field(name).column)


def table(model) -> str:
    """The quoted table of `model`."""
    return connection.ops.quote_name(model._meta.db_table)


@cache
def _converters(model, names, vendor):
    """Per selected field: the backend's and the field's from-database converters, as the compiler applies them."""
    result = []
    for field in fields(model, names):
        expression = Col(model._meta.db_table, field)
        result.append(
            (expression, connection.ops.get_db_converters(expression) + field.get_db_converters(connection))
        )
    return result


@cache
def _field_converters(model, name, vendor):
    """The converters of one field of `model`, as the compiler applies them."""
    field = model._meta.get_field(name)
    expression = Col(model._meta.db_table, field)
    return expression, connection.ops.get_db_converters(expression) + field.get_db_converters(connection)


def value(model, name, raw):
    """One column's raw value converted as the ORM converts field `name` of `model` (None stays None)."""
    if raw is None:
        return None
    expression, functions = _field_converters(model, name, connection.vendor)
    for function in functions:
        raw = function(raw, expression, connection)
    return raw


def width(model, names=None) -> int:
    """How many columns `column_list(model, alias, names)` selects."""
    return len(fields(model, names))


def instance(model, values, names=None):
    """An instance of `model` from the values of `column_list(model, alias, names)`, converted as the ORM
    converts them; fields left out are deferred. All values None (a LEFT JOIN that found nothing): None."""
    if all(value is None for value in values):
        return None
    converted = []
    for value, (expression, functions) in zip(
        values, _converters(model, names, connection.vendor), strict=True
    ):
        for function in functions:
            value = function(value, expression, connection)
        converted.append(value)
    return model.from_db(connection.alias, [field.attname for field in fields(model, names)], converted)


def one(cursor, cls):
    """The cursor's next row as `cls` (a dataclass whose fields are the selected columns, in order); None at the end."""
    row = cursor.fetchone()
    return None if row is None else cls(*row)


def every(cursor, cls) -> list:
    """Every remaining row of the cursor as `cls` (see `one`)."""
    return [cls(*row) for row in cursor.fetchall()]


def columns_of(cls) -> tuple[str, ...]:
    """The field names of the dataclass `cls`, in order: the columns a query for `one`/`every` selects."""
    return tuple(field.name for field in dataclass_fields(cls))


@cache
def _insert_statement(model, vendor):
    """The fields of `model`'s INSERT (every concrete one but an automatic key), its SQL, and whether it returns the key."""
    opts = model._meta
    chosen = tuple(field for field in opts.concrete_fields if field is not opts.auto_field)
    q = connection.ops.quote_name
    returns = opts.auto_field is not None and connection.features.can_return_columns_from_insert
    sql = "INSERT INTO {} ({}) VALUES ({}){}".format(  # noqa: S608 - names from the model, values bound
        q(opts.db_table),
        ", ".join(q(field.column) for field in chosen),
        ", ".join(["%s"] * len(chosen)),
        f" RETURNING {q(opts.pk.column)}" if returns else "",
    )
    return chosen, sql, returns


def _prepared(obj):
    """The INSERT of `obj` (see _insert_statement) and its values, prepared as save() prepares them."""
    chosen, sql, returns = _insert_statement(type(obj), connection.vendor)
    return (
        chosen,
        sql,
        returns,
        [field.get_db_prep_save(field.pre_save(obj, True), connection) for field in chosen],
    )


def _saved(obj, key):
    if type(obj)._meta.auto_field is not None and key is not None:
        obj.pk = key
    obj._state.adding = False
    obj._state.db = connection.alias
    return obj


def insert(obj):
    """Write the new instance `obj` with one INSERT compiled once per model and set its key; `obj` returned.

    Model.save() without its signals and query compiler, for the records of the busiest path (the sale of a
    plain charge) that no signal listens to; every value is prepared as save() prepares it (auto_now_add
    stamps, JSON, time zones, foreign keys by their `_id`).
    """
    _chosen, sql, returns, values = _prepared(obj)
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        key = cursor.fetchone()[0] if returns else cursor.lastrowid
    return _saved(obj, key)


def insert_many(objs, *, batch: int = 100) -> None:
    """Write new instances of one model with multi-row INSERTs compiled once per model; their keys are not read back.

    bulk_create() on PostgreSQL sends every column as an array (Django's UNNEST insert), and with
    client-side binding psycopg quotes each element of each array in Python: for a checkout's 20
    sale lines that cost more CPU than the statement itself. Plain rows of VALUES cost a fraction.
    No signals, as `insert`; every value is prepared as save() prepares it.
    """
    if not objs:
        return
    model = type(objs[0])
    chosen, _sql, _returns = _insert_statement(model, connection.vendor)
    q = connection.ops.quote_name
    head = "INSERT INTO {} ({}) VALUES ".format(  # noqa: S608 - names from the model, values bound
        q(model._meta.db_table), ", ".join(q(field.column) for field in chosen)
    )
    row = "({})".format(", ".join(["%s"] * len(chosen)))
    with connection.cursor() as cursor:
        for start in range(0, len(objs), batch):
            part = objs[start : start + batch]
            params = [value for obj in part for value in _prepared(obj)[3]]
            cursor.execute(head + ", ".join([row] * len(part)), params)
    for obj in objs:
        _saved(obj, None)


def insert_family(parent, make_children, parent_key: str):
    """Insert `parent`, then the rows `make_children(parent)` returns, each pointing at it by field `parent_key`.

    On PostgreSQL one statement (data-modifying CTEs), one round trip instead of one per row; elsewhere
    one INSERT each. The children are made after the parent's values are prepared, so they can copy its
    stamps (created_at). The parent gets its key; the children's keys are not read back.
    """
    if connection.vendor != "postgresql":
        insert(parent)
        for child in make_children(parent):
            setattr(child, parent_key, parent.pk)
            insert(child)
        return parent
    _chosen, parent_sql, _returns, values = _prepared(parent)
    q = connection.ops.quote_name
    parts, params = [f"p AS ({parent_sql})"], list(values)
    for number, child in enumerate(make_children(parent)):
        chosen, _sql, _returns, child_values = _prepared(child)
        columns, selected = [], []
        for field, value in zip(chosen, child_values, strict=True):
            columns.append(q(field.column))
            if field.attname == parent_key:
                selected.append(f"p.{q(type(parent)._meta.pk.column)}")
            else:
                selected.append("%s")
                params.append(value)
        parts.append(
            f"c{number} AS (INSERT INTO {q(type(child)._meta.db_table)} ({', '.join(columns)}) "  # noqa: S608 - names from the models, values bound
            f"SELECT {', '.join(selected)} FROM p)"
        )
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {', '.join(parts)} SELECT * FROM p", params)  # noqa: S608 - built above from model names
        key = cursor.fetchone()[0]
    return _saved(parent, key)
