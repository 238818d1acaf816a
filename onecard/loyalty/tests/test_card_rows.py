"""card_rows.lock_charge_card reads the same card, product and facts as the ORM would."""

from decimal import Decimal

import pytest
from django.db import transaction

from onecard.loyalty.ledger import services as ledger
from onecard.loyalty.ledger.choices import AccountKind
from onecard.loyalty.models import Card, StoredValueSettings
from onecard.loyalty.models.stored_value import ConsumptionOrder
from onecard.loyalty.stored_value import charge_rows as card_rows
from onecard.loyalty.tiers import services as tiers
from onecard.testing.cards import active_card, make_product, stock

pytestmark = pytest.mark.django_db


def test_the_row_matches_the_orm_and_carries_the_tier_order_and_revenue_account(chain, member_factory):
    # given: a card with an expiry and a password threshold, a gold tier member, a product with settings
    product = make_product(chain, password_threshold=20_000, daily_charge_limit=90_000)
    StoredValueSettings.objects.create(product=product, consumption_order=ConsumptionOrder.BONUS_FIRST)
    member = member_factory()
    card = active_card(stock(product, chain.a1, count=1)[0], member)
    gold = tiers.create_tier(None, chain.merchant, name="金卡", rank=2, discount_rate=Decimal("0.885"))
    tiers.set_member_tier(None, member, gold, reason="test")
    revenue = ledger.open_account(AccountKind.STORE_REVENUE, chain.merchant, node=chain.a2)
    # when
    with transaction.atomic():
        read = card_rows.lock_charge_card(card.pk, chain.a2)
    # then: every concrete field equals the ORM's, the product is cached, the facts are right
    orm = Card.objects.select_related("product").get(pk=card.pk)
    for field in Card._meta.concrete_fields:
        assert getattr(read.card, field.attname) == getattr(orm, field.attname), field.name
    for field in type(orm.product)._meta.concrete_fields:
        assert getattr(read.card.product, field.attname) == getattr(orm.product, field.attname), field.name
    assert read.card.effective_daily_charge_limit == 90_000
    assert read.card.password_required_for(20_001) is False  # no password set on the card
    assert read.discount_rate == Decimal("0.885")
    assert (read.tier.pk, read.tier.points_multiplier, read.birthday) == (
        gold.pk,
        gold.points_multiplier,
        member.birthday,
    )
    assert (read.earns_points, read.has_rebates) == (False, False)
    assert (
        read.home_clearing_id is None and read.store_clearing_id is None
    )  # the A1↔A2 pair has no accounts yet
    assert read.consumption_order == ConsumptionOrder.BONUS_FIRST
    assert read.product_has_stores is False
    assert read.revenue_account_id == revenue.pk


def test_defaults_without_tier_settings_or_revenue_account(chain, member_factory):
    # given: a plain product, a member without tier, no revenue account yet at B1; a store list on the product
    product = make_product(chain)
    product.stores.add(chain.a1)
    card = active_card(stock(product, chain.a1, count=1)[0], member_factory())
    # when
    with transaction.atomic():
        read = card_rows.lock_charge_card(card.pk, chain.b1)
    # then
    assert (read.discount_rate, read.consumption_order) == (Decimal(1), ConsumptionOrder.PROPORTIONAL)
    assert read.product_has_stores is True and read.revenue_account_id is None


def test_an_unknown_card_raises_does_not_exist(chain):
    with pytest.raises(Card.DoesNotExist), transaction.atomic():
        card_rows.lock_charge_card(987654321, chain.a1)
