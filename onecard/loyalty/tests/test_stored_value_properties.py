"""Property-based: random top-ups, charges, holds, captures, voids and refunds on one card keep the books exact.

The machine keeps its own model (value on the card, open holds, what each charge has left to
refund); after every step the database must agree, no balance may be negative, and the ledger
verification must be clean. SQLite and PostgreSQL.
"""

import pytest
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from onecard.core.errors import BusinessError
from onecard.loyalty.models.stored_value import ConsumptionOrder
from onecard.loyalty.stored_value import holds
from onecard.loyalty.stored_value import services as stored_value
from onecard.testing.stored_value import assert_ledger_clean, balances, bonus_rule, sv_card

amounts = st.integers(min_value=1, max_value=80_000)


class StoredValueMachine(RuleBasedStateMachine):
    chain = None
    member = None

    def __init__(self):
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.card = None
        self.value = 0  # principal + bonus + held
        self.open_holds = {}  # hold row → amount
        self.refundable = {}  # charge/capture row → amount left to refund

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    @precondition(lambda self: self.card is None)
    @rule(order=st.sampled_from(list(ConsumptionOrder.values)), with_rule=st.booleans())
    def open_card(self, order, with_rule):
        self.card = sv_card(self.chain, self.member, order=order)
        if with_rule:
            bonus_rule(self.chain, [[10_000, 1_000], [50_000, 7_000]])

    def _try(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except BusinessError as error:
            assert error.code in {"insufficient_balance", "balance_cap_exceeded"}, error.code
            return None

    @precondition(lambda self: self.card is not None)
    @rule(amount=amounts)
    def topup(self, amount):
        tx = self._try(stored_value.topup, None, self.card, amount, store=self.chain.a1)
        if tx is not None:
            assert tx.principal == amount
            self.value += amount + tx.bonus

    @precondition(lambda self: self.card is not None)
    @rule(amount=amounts)
    def charge(self, amount):
        tx = self._try(stored_value.charge, None, self.card, amount, store=self.chain.a2)
        if tx is not None:
            assert tx.principal >= 0 and tx.bonus >= 0 and tx.principal + tx.bonus == tx.amount == amount
            self.value -= amount
            self.refundable[tx] = amount

    @precondition(lambda self: self.card is not None)
    @rule(amount=amounts)
    def hold(self, amount):
        tx = self._try(holds.hold, None, self.card, amount, store=self.chain.a1)
        if tx is not None:
            self.open_holds[tx] = amount

    @precondition(lambda self: self.open_holds)
    @rule(data=st.data(), void=st.booleans())
    def close_hold(self, data, void):
        row = data.draw(st.sampled_from(sorted(self.open_holds, key=lambda r: r.pk)))
        held = self.open_holds.pop(row)
        if void:
            holds.void(None, row)
            return
        amount = data.draw(st.integers(min_value=1, max_value=held))
        tx = holds.capture(None, row, amount)
        assert tx.principal >= 0 and tx.bonus >= 0 and tx.principal + tx.bonus == amount
        self.value -= amount
        self.refundable[tx] = amount

    @precondition(lambda self: any(self.refundable.values()))
    @rule(data=st.data())
    def refund(self, data):
        row = data.draw(
            st.sampled_from(sorted((r for r, left in self.refundable.items() if left), key=lambda r: r.pk))
        )
        left = self.refundable[row]
        amount = data.draw(st.integers(min_value=1, max_value=left + 1))
        if amount > left:
            with pytest.raises(BusinessError) as info:
                stored_value.refund(None, row, amount, store=self.chain.a1, reason="property")
            assert info.value.code == "over_refund"
            return
        tx = stored_value.refund(None, row, amount, store=self.chain.a1, reason="property")
        assert tx.principal >= 0 and tx.bonus >= 0 and tx.principal + tx.bonus == amount
        self.refundable[row] = left - amount
        self.value += amount
        if not self.refundable[row]:
            row.refresh_from_db()
            parts = row.followups.all()
            assert sum(p.principal for p in parts) == row.principal
            assert sum(p.bonus for p in parts) == row.bonus

    @invariant()
    def books_agree(self):
        if self.card is None:
            return
        principal, bonus, held = balances(self.card)
        assert min(principal, bonus, held) >= 0
        assert principal + bonus + held == self.value
        assert held == sum(self.open_holds.values())
        assert principal + bonus <= self.card.product.effective_balance_cap
        assert_ledger_clean()


def test_random_stored_value_sequences_keep_every_invariant(chain, member_factory):
    StoredValueMachine.chain, StoredValueMachine.member = chain, member_factory()
    run_state_machine_as_test(
        StoredValueMachine,
        settings=settings(
            max_examples=20,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )


@pytest.fixture(autouse=True)
def _forget_chain():
    yield
    StoredValueMachine.chain = StoredValueMachine.member = None
