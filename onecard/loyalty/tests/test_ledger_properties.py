"""Property-based: any sequence of top-ups, charges, transfers, points and reversals keeps the books exact.

A Hypothesis state machine drives the ledger and keeps its own model of every balance; after each
step the database must agree with the model, member accounts must be non-negative, every
currency must sum to zero, and `verify_ledger()` must find nothing. Runs on SQLite and PostgreSQL.
"""

import itertools

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from onecard.loyalty.ledger import services as ledger
from onecard.loyalty.ledger.choices import AccountKind, EntryKind
from onecard.loyalty.ledger.errors import AlreadyReversed, CannotReverseReversal, InsufficientBalance
from onecard.loyalty.ledger.services import EntrySpec, leg
from onecard.loyalty.ledger.verify import verify_ledger
from onecard.loyalty.models import Account

_card_ids = itertools.count(1_000_000)
amounts = st.integers(min_value=1, max_value=60_000)
points = st.integers(min_value=1, max_value=500)


class LedgerMachine(RuleBasedStateMachine):
    """Two members (principal + points each) trading with one store; the model is a dict of balances."""

    chain = None  # set by the test

    def __init__(self):
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        merchant, store = self.chain.merchant, self.chain.a1
        self.merchant, self.store = merchant, store
        self.principals = [
            ledger.open_account(AccountKind.MEMBER_PRINCIPAL, merchant, card_id=next(_card_ids))
            for _ in range(2)
        ]
        self.points = [
            ledger.open_account(AccountKind.MEMBER_POINTS, merchant, card_id=a.card_id)
            for a in self.principals
        ]
        self.cash = ledger.open_account(AccountKind.STORE_CASH, merchant, node=store)
        self.revenue = ledger.open_account(AccountKind.STORE_REVENUE, merchant, node=store)
        self.points_expense = ledger.open_account(AccountKind.POINTS_EXPENSE, merchant, node=store)
        self.accounts = [*self.principals, *self.points, self.cash, self.revenue, self.points_expense]
        self.guarded = {a.pk for a in [*self.principals, *self.points]}
        self.model = {a.pk: 0 for a in self.accounts}
        self.entries = []  # (entry id, {account: amount}, is_reversal)
        self.reversed = set()

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    # ---- the model ---------------------------------------------------------------------------------

    def would_overdraw(self, legs):
        return any(a in self.guarded and self.model[a] + amount < 0 for a, amount in legs.items())

    def attempt(self, legs, kind):
        """Post `legs` ({account id: amount}); the ledger must refuse exactly when the model says so."""
        expect_refusal = self.would_overdraw(legs)
        try:
            posted = ledger.post(
                EntrySpec(
                    kind=kind,
                    merchant=self.merchant,
                    node=self.store,
                    legs=[leg(a, x) for a, x in legs.items()],
                )
            )
        except InsufficientBalance:
            assert expect_refusal
            return
        assert not expect_refusal
        for account, amount in legs.items():
            self.model[account] += amount
            assert posted.balance(account) == self.model[account]
        self.entries.append((posted.entry.pk, legs, False))

    # ---- rules ------------------------------------------------------------------------------------

    @rule(member=st.integers(0, 1), amount=amounts)
    def top_up(self, member, amount):
        self.attempt({self.cash.pk: -amount, self.principals[member].pk: amount}, EntryKind.TOPUP)

    @rule(member=st.integers(0, 1), amount=amounts, earned=st.integers(0, 300))
    def charge(self, member, amount, earned):
        legs = {self.principals[member].pk: -amount, self.revenue.pk: amount}
        if earned:
            legs.update({self.points[member].pk: earned, self.points_expense.pk: -earned})
        self.attempt(legs, EntryKind.CHARGE)

    @rule(source=st.integers(0, 1), amount=amounts)
    def transfer_between_members(self, source, amount):
        self.attempt(
            {self.principals[source].pk: -amount, self.principals[1 - source].pk: amount}, EntryKind.TRANSFER
        )

    @rule(member=st.integers(0, 1), amount=points)
    def redeem_points(self, member, amount):
        self.attempt({self.points[member].pk: -amount, self.points_expense.pk: amount}, EntryKind.REDEEM)

    @precondition(lambda self: self.entries)
    @rule(data=st.data())
    def reverse(self, data):
        entry_id, legs, is_reversal = data.draw(st.sampled_from(self.entries))
        opposite = {a: -x for a, x in legs.items()}
        try:
            posted = ledger.reverse(entry_id)
        except CannotReverseReversal:
            assert is_reversal
            return
        except AlreadyReversed:
            assert entry_id in self.reversed
            return
        except InsufficientBalance:
            assert self.would_overdraw(opposite) and entry_id not in self.reversed and not is_reversal
            return
        assert not is_reversal and entry_id not in self.reversed and not self.would_overdraw(opposite)
        self.reversed.add(entry_id)
        for account, amount in opposite.items():
            self.model[account] += amount
        self.entries.append((posted.entry.pk, opposite, True))

    # ---- invariants -------------------------------------------------------------------------------

    @invariant()
    def balances_match_the_model_and_sum_to_zero(self):
        stored = dict(Account.objects.filter(pk__in=self.model).values_list("pk", "balance"))
        assert stored == self.model
        assert all(stored[a] >= 0 for a in self.guarded)
        for currency_accounts in (
            self.principals + [self.cash, self.revenue],
            self.points + [self.points_expense],
        ):
            assert sum(stored[a.pk] for a in currency_accounts) == 0
        assert Account.objects.filter(pk__in=self.model).aggregate(s=Sum("balance"))["s"] == 0

    @invariant()
    def the_books_verify(self):
        report = verify_ledger()
        assert report.problems == []


def test_random_sequences_of_postings_keep_every_invariant(chain):
    LedgerMachine.chain = chain
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )


@pytest.fixture(autouse=True)
def _forget_chain():
    yield
    LedgerMachine.chain = None
