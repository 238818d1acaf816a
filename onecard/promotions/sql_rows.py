"""Plain-SQL reads turned into model instances exactly as the ORM would load them, for hot read paths.

Every quote reads the cart's products and the coupons presented. Built with the ORM, those two
queries (OR-ed lookups, EXISTS subqueries, joins) cost several times more to compile than to run,
so `catalog.queries.products_for_codes` and `coupon_redemption.sort_codes` write their SQL by hand and turn
each row into instances with the converters Django's compiler applies (as `loyalty.card_rows` does
for a charge's card): the instances behave like ORM-loaded ones. Given `names`, only those fields are
read and the others are deferred, as with `QuerySet.only()` (reading one later costs a query).
"""

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
    result = []
    for field in fields(model, names):
        expression = Col(model._meta.db_table, field)
        result.append(
            (expression, connection.ops.get_db_converters(expression) + field.get_db_converters(connection))
        )
    return result


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
