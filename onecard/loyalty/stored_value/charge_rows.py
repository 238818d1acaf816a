"""The card row of a charge, locked and read in one plain-SQL statement (the hot path of stored value).

A charge needs the card, its product, the product's consumption order, the member's tier and
birthday, whether the product lists accepting stores, and the ids of the store's revenue,
clearing and points accounts. The ORM query that reads all of that (select_related over five
tables plus subqueries) costs more to compile than to run, so the SQL is built once per
connection vendor and the row is turned into model instances by core.rows.
"""

from dataclasses import dataclass
from decimal import Decimal
from functools import cache

from django.db import connection

from onecard.core import rows
from onecard.loyalty.ledger import services as ledger
from onecard.loyalty.ledger.choices import AccountKind
from onecard.loyalty.models import Account, Card, CardProduct, MemberTier, PointsEarnRule, Tier
from onecard.loyalty.models.stored_value import ConsumptionOrder, RebateRule, StoredValueSettings
from onecard.members.models import Member


@dataclass(frozen=True)
class CardRow:
    """What one locking read of a charge's card finds: the card (its product cached on it) and its facts."""

    card: Card
    consumption_order: str
    discount_rate: Decimal
    tier: Tier | None
    birthday: object
    product_has_stores: bool
    revenue_account_id: int | None
    earns_points: bool
    has_rebates: bool
    # The clearing pair between the card's home and the store, when both accounts exist already.
    home_clearing_id: int | None
    store_clearing_id: int | None
    # (points expense id, member points id) at this store; None where not opened yet.
    points_accounts: tuple


@cache
def _statement(vendor) -> str:
    """The locking SELECT for `vendor`.

    Parameters: revenue key, clearing key prefix, store id (twice), clearing key prefix, points
    expense key, the three literal parts of the card's member-points key, card id.
    The clearing keys follow ledger.account_key for a store-to-store account of the store's
    merchant: "clearing|<merchant>|<owner>||||<counterparty>", the home being the card's row.
    """
    account = rows.table(Account)
    through = connection.ops.quote_name(CardProduct.stores.through._meta.db_table)
    lock = " FOR UPDATE OF c" if connection.features.has_select_for_update else ""
    return (
        f"SELECT {rows.column_list(Card, 'c')}, {rows.column_list(CardProduct, 'p')}, "  # noqa: S608 - names from the models, values bound
        f"{rows.column_list(Tier, 't')}, m.{rows.column(Member, 'birthday')}, s.consumption_order, "
        f"EXISTS (SELECT 1 FROM {through} st WHERE st.cardproduct_id = c.product_id), "
        f"(SELECT a.id FROM {account} a WHERE a.key = %s), "
        f"EXISTS (SELECT 1 FROM {rows.table(PointsEarnRule)} r WHERE r.merchant_id = c.merchant_id AND r.is_active), "
        f"EXISTS (SELECT 1 FROM {rows.table(RebateRule)} r WHERE r.merchant_id = c.merchant_id AND r.is_active), "
        f"(SELECT a.id FROM {account} a WHERE a.key = %s || CAST(c.issued_store_id AS TEXT) || %s), "
        f"(SELECT a.id FROM {account} a WHERE a.key = %s || CAST(c.issued_store_id AS TEXT)), "
        f"(SELECT a.id FROM {account} a WHERE a.key = %s), "
        f"(SELECT a.id FROM {account} a "
        f"WHERE a.key = %s || CAST(c.merchant_id AS TEXT) || %s || CAST(c.id AS TEXT) || %s) "
        f"FROM {rows.table(Card)} c "
        f"JOIN {rows.table(CardProduct)} p ON p.id = c.product_id "
        f"LEFT JOIN {rows.table(StoredValueSettings)} s ON s.product_id = c.product_id "
        f"LEFT JOIN {rows.table(Member)} m ON m.id = c.member_id "
        f"LEFT JOIN {rows.table(MemberTier)} mt ON mt.member_id = c.member_id "
        f"LEFT JOIN {rows.table(Tier)} t ON t.id = mt.tier_id "
        f"WHERE c.id = %s{lock}"
    )


def _parameters(card_id, store) -> list:
    """The parameters of _statement for a charge of card `card_id` at `store`."""
    revenue = ledger.account_key(AccountKind.STORE_REVENUE, store.merchant_id, node=store)
    prefix = f"{AccountKind.CLEARING.value}|{store.merchant_id}|"
    expense = ledger.account_key(AccountKind.POINTS_EXPENSE, store.merchant_id, node=store)
    # ledger.account_key(MEMBER_POINTS, card merchant, card_id=card) = "member_points|<merchant>|||<card>||"
    points = [f"{AccountKind.MEMBER_POINTS.value}|", "|||", "||"]
    return [revenue, prefix, f"||||{store.pk}", f"{prefix}{store.pk}||||", expense, *points, card_id]


def lock_charge_card(card_id, store) -> CardRow:
    """Lock the card's row (as cards.lock_cards does) and read what a charge at `store` needs; Card.DoesNotExist."""
    with connection.cursor() as cursor:
        cursor.execute(_statement(connection.vendor), _parameters(card_id, store))
        row = cursor.fetchone()
    if row is None:
        raise Card.DoesNotExist(f"card {card_id}")
    at = 0
    parts = []
    for model in (Card, CardProduct, Tier):
        size = rows.width(model)
        parts.append(rows.instance(model, row[at : at + size]))
        at += size
    card, product, tier = parts
    birthday = rows.value(Member, "birthday", row[at])
    at += 1
    Card.product.field.set_cached_value(card, product)
    (order, has_stores, revenue_id, earns, rebates, home_clearing, store_clearing, expense_id,
     points_id) = row[at:]  # fmt: skip
    own_merchant = card.merchant_id == store.merchant_id
    return CardRow(
        card=card,
        consumption_order=order or ConsumptionOrder.PROPORTIONAL,
        discount_rate=Decimal(1) if tier is None else Decimal(tier.discount_rate),
        tier=tier,
        birthday=birthday,
        product_has_stores=bool(has_stores),
        revenue_account_id=revenue_id,
        earns_points=bool(earns),
        has_rebates=bool(rebates),
        # Only for a home of the store's merchant; another merchant's store opens its accounts.
        home_clearing_id=home_clearing if own_merchant else None,
        store_clearing_id=store_clearing if own_merchant else None,
        points_accounts=(expense_id, points_id),
    )


@dataclass(frozen=True)
class FoundCard:
    """A card found by number or RFID before a charge: its id, and its password hash ("" without one)."""

    id: int
    password_hash: str


def find_card(column, value) -> FoundCard | None:
    """The card whose `column` ("number" or "rfid_uid") is `value`: one light read, no lock."""
    if column not in ("number", "rfid_uid"):
        raise ValueError(column)
    sql = f"SELECT id, password_hash FROM {rows.table(Card)} WHERE {rows.column(Card, column)} = %s"  # noqa: S608 - names from the models, values bound
    with connection.cursor() as cursor:
        cursor.execute(sql, [value])
        return rows.one(cursor, FoundCard)
