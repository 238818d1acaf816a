"""Fixtures of the card management page tests: a store manager elsewhere, staff without a role, a funded card."""

import pytest

from onecard.org import services
from onecard.testing.cards import active_card, put_value, stock


@pytest.fixture
def b1_manager(chain):
    """A store manager of North/B1: sees nothing of East/A1."""
    return services.create_staff(
        None, username="b1mgr", password="pass-word-123", node=chain.b1, roles=[chain.roles["store_manager"]]
    )


@pytest.fixture
def nobody(chain):
    """Staff at A1 without any role (no cards.view)."""
    return services.create_staff(None, username="norole", password="pass-word-123", node=chain.a1, roles=[])


@pytest.fixture
def wang_wus_card_with_100_yuan(chain, member_factory, card_product):
    """An active stored-value card issued at A1, bound to an A1 member (phone 13900001234), ¥100 principal."""
    member = member_factory(name="王五", phone="13900001234")
    card = active_card(stock(card_product, chain.a1, count=1, prefix="8801")[0], member)
    put_value(chain, card, principal=10_000)
    return card
