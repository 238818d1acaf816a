"""The card row of a charge, locked and read in one plain-SQL statement (the hot path of stored value).

A charge needs the card, its product, the product's consumption order, the member's tier
discount, whether the product lists accepting stores, and the store's revenue account. The ORM
query that reads all of that (select_related over five tables plus two subqueries) costs more to
compile than to run, so this module builds the SQL once per connection vendor and turns the row
into model instances with the same converters Django applies (`from_db`), so the instances
behave exactly like ORM-loaded ones.
"""

from decimal import Decimal
from functools import cache

from django.db import connection
from django.db.models.expressions import Col

from . import ledger
from .choices import AccountKind
from .models import Account, Card, CardProduct, MemberTier, Tier
from .models.stored_value import ConsumptionOrder, StoredValueSettings


def _fields(model):
    return list(model._meta.concrete_fields)


def _converters(model):
    """Per concrete field: the backend's and the field's from-database converters, as the compiler applies them."""
    table = model._meta.db_table
    result = []
    for field in _fields(model):
        expression = Col(table, field)
        result.append(
            (expression, connection.ops.get_db_converters(expression) + field.get_db_converters(connection))
        )
    return result


def _convert(values, converters):
    out = []
    for value, (expression, functions) in zip(values, converters, strict=True):
        for function in functions:
            value = function(value, expression, connection)
        out.append(value)
    return out


@cache
def _statement(vendor):
    """(sql, card converters, product converters) for `vendor`; the SQL takes (revenue key, card id)."""
    q = connection.ops.quote_name
    card_cols = ", ".join(f"c.{q(f.column)}" for f in _fields(Card))
    product_cols = ", ".join(f"p.{q(f.column)}" for f in _fields(CardProduct))
    through = CardProduct.stores.through._meta.db_table
    lock = " FOR UPDATE OF c" if connection.features.has_select_for_update else ""
    sql = (
        f"SELECT {card_cols}, {product_cols}, s.consumption_order, t.discount_rate, "
        f"EXISTS (SELECT 1 FROM {q(through)} st WHERE st.cardproduct_id = c.product_id), "
        f"(SELECT a.id FROM {q(Account._meta.db_table)} a WHERE a.key = %s) "
        f"FROM {q(Card._meta.db_table)} c "
        f"JOIN {q(CardProduct._meta.db_table)} p ON p.id = c.product_id "
        f"LEFT JOIN {q(StoredValueSettings._meta.db_table)} s ON s.product_id = c.product_id "
        f"LEFT JOIN {q(MemberTier._meta.db_table)} mt ON mt.member_id = c.member_id "
        f"LEFT JOIN {q(Tier._meta.db_table)} t ON t.id = mt.tier_id "
        f"WHERE c.id = %s{lock}"
    )
    return sql, _converters(Card), _converters(CardProduct)


class ChargeCard:
    """What a charge reads under the card's lock: the card (its product cached on it) and four facts."""

    __slots__ = ("card", "consumption_order", "discount_rate", "product_has_stores", "revenue_account_id")

    def __init__(self, card, consumption_order, discount_rate, product_has_stores, revenue_account_id):
        self.card = card
        self.consumption_order = consumption_order
        self.discount_rate = discount_rate
        self.product_has_stores = product_has_stores
        self.revenue_account_id = revenue_account_id


def lock_charge_card(card_id, store) -> ChargeCard:
    """Lock the card's row (as cards.lock_cards does) and read what a charge at `store` needs; Card.DoesNotExist."""
    sql, card_converters, product_converters = _statement(connection.vendor)
    key = ledger.account_key(AccountKind.STORE_REVENUE, store.merchant_id, node=store)
    with connection.cursor() as cursor:
        cursor.execute(sql, [key, card_id])
        row = cursor.fetchone()
    if row is None:
        raise Card.DoesNotExist(f"card {card_id}")
    n_card, n_product = len(card_converters), len(product_converters)
    card = Card.from_db(
        connection.alias, [f.attname for f in _fields(Card)], _convert(row[:n_card], card_converters)
    )
    product = CardProduct.from_db(
        connection.alias,
        [f.attname for f in _fields(CardProduct)],
        _convert(row[n_card : n_card + n_product], product_converters),
    )
    Card.product.field.set_cached_value(card, product)
    order, rate, has_stores, revenue_id = row[n_card + n_product :]
    return ChargeCard(
        card,
        order or ConsumptionOrder.PROPORTIONAL,
        Decimal(1) if rate is None else Decimal(str(rate)),
        bool(has_stores),
        revenue_id,
    )
