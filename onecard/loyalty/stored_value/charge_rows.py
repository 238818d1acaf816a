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

from onecard.loyalty.ledger import services as ledger
from onecard.loyalty.ledger.choices import AccountKind
from onecard.loyalty.models import Account, Card, CardProduct, MemberTier, PointsEarnRule, Tier
from onecard.loyalty.models.stored_value import ConsumptionOrder, RebateRule, StoredValueSettings
from onecard.members.models import Member


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


def _field_converters(model, field):
    expression = Col(model._meta.db_table, field)
    return [(expression, connection.ops.get_db_converters(expression) + field.get_db_converters(connection))]


def _convert(values, converters):
    out = []
    for value, (expression, functions) in zip(values, converters, strict=True):
        for function in functions:
            value = function(value, expression, connection)
        out.append(value)
    return out


@cache
def _statement(vendor):
    """(sql, card converters, product converters) for `vendor`.

    Parameters: revenue key, clearing key prefix, store id (twice), clearing key prefix, points
    expense key, the three literal parts of the card's member-points key, card id.
    The clearing keys follow ledger.account_key for a store-to-store account of the store's
    merchant: "clearing|<merchant>|<owner>||||<counterparty>", the home being the card's row.
    """
    q = connection.ops.quote_name
    card_cols = ", ".join(f"c.{q(f.column)}" for f in _fields(Card))
    tier_cols = ", ".join(f"t.{q(f.column)}" for f in _fields(Tier))
    birthday = Member._meta.get_field("birthday")
    product_cols = ", ".join(f"p.{q(f.column)}" for f in _fields(CardProduct))
    through = CardProduct.stores.through._meta.db_table
    lock = " FOR UPDATE OF c" if connection.features.has_select_for_update else ""
    sql = (
        f"SELECT {card_cols}, {product_cols}, {tier_cols}, m.{q(birthday.column)}, s.consumption_order, "
        f"EXISTS (SELECT 1 FROM {q(through)} st WHERE st.cardproduct_id = c.product_id), "
        f"(SELECT a.id FROM {q(Account._meta.db_table)} a WHERE a.key = %s), "
        f"EXISTS (SELECT 1 FROM {q(PointsEarnRule._meta.db_table)} r "
        f"WHERE r.merchant_id = c.merchant_id AND r.is_active), "
        f"EXISTS (SELECT 1 FROM {q(RebateRule._meta.db_table)} r WHERE r.merchant_id = c.merchant_id AND r.is_active), "
        f"(SELECT a.id FROM {q(Account._meta.db_table)} a "
        f"WHERE a.key = %s || CAST(c.issued_store_id AS TEXT) || %s), "
        f"(SELECT a.id FROM {q(Account._meta.db_table)} a "
        f"WHERE a.key = %s || CAST(c.issued_store_id AS TEXT)), "
        f"(SELECT a.id FROM {q(Account._meta.db_table)} a WHERE a.key = %s), "
        f"(SELECT a.id FROM {q(Account._meta.db_table)} a "
        f"WHERE a.key = %s || CAST(c.merchant_id AS TEXT) || %s || CAST(c.id AS TEXT) || %s) "
        f"FROM {q(Card._meta.db_table)} c "
        f"JOIN {q(CardProduct._meta.db_table)} p ON p.id = c.product_id "
        f"LEFT JOIN {q(StoredValueSettings._meta.db_table)} s ON s.product_id = c.product_id "
        f"LEFT JOIN {q(Member._meta.db_table)} m ON m.id = c.member_id "
        f"LEFT JOIN {q(MemberTier._meta.db_table)} mt ON mt.member_id = c.member_id "
        f"LEFT JOIN {q(Tier._meta.db_table)} t ON t.id = mt.tier_id "
        f"WHERE c.id = %s{lock}"
    )
    return (
        sql,
        _converters(Card),
        _converters(CardProduct),
        _converters(Tier),
        _field_converters(Member, birthday),
    )


class ChargeCard:
    """What a charge reads under the card's lock: the card (its product cached on it) and four facts."""

    __slots__ = (
        "card", "consumption_order", "discount_rate", "product_has_stores", "revenue_account_id",
        "earns_points", "has_rebates", "home_clearing_id", "store_clearing_id", "tier", "birthday", "points_accounts",
    )  # fmt: skip

    def __init__(self, card, **facts):
        self.card = card
        for name, value in facts.items():
            setattr(self, name, value)


def lock_charge_card(card_id, store) -> ChargeCard:
    """Lock the card's row (as cards.lock_cards does) and read what a charge at `store` needs; Card.DoesNotExist."""
    sql, card_converters, product_converters, tier_converters, birthday_converters = _statement(
        connection.vendor
    )
    key = ledger.account_key(AccountKind.STORE_REVENUE, store.merchant_id, node=store)
    prefix = f"{AccountKind.CLEARING.value}|{store.merchant_id}|"
    expense = ledger.account_key(AccountKind.POINTS_EXPENSE, store.merchant_id, node=store)
    # ledger.account_key(MEMBER_POINTS, card merchant, card_id=card) = "member_points|<merchant>|||<card>||"
    points = [f"{AccountKind.MEMBER_POINTS.value}|", "|||", "||"]
    params = [key, prefix, f"||||{store.pk}", f"{prefix}{store.pk}||||", expense, *points, card_id]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
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
    at = n_card + n_product
    tier_values = row[at : at + len(tier_converters)]
    tier = None
    if tier_values[0] is not None:
        names = [f.attname for f in _fields(Tier)]
        tier = Tier.from_db(connection.alias, names, _convert(tier_values, tier_converters))
    at += len(tier_converters)
    (birthday,) = _convert(row[at : at + 1], birthday_converters)
    (order, has_stores, revenue_id, earns, rebates, home_clearing, store_clearing, expense_id,
     points_id) = row[at + 1 :]  # fmt: skip
    return ChargeCard(
        card,
        consumption_order=order or ConsumptionOrder.PROPORTIONAL,
        discount_rate=Decimal(1) if tier is None else Decimal(tier.discount_rate),
        tier=tier,
        birthday=birthday,
        product_has_stores=bool(has_stores),
        revenue_account_id=revenue_id,
        earns_points=bool(earns),
        has_rebates=bool(rebates),
        # Only for a home of the store's merchant; another merchant's store opens its accounts.
        home_clearing_id=home_clearing if card.merchant_id == store.merchant_id else None,
        store_clearing_id=store_clearing if card.merchant_id == store.merchant_id else None,
        points_accounts={store.pk: (expense_id, points_id)},
    )
