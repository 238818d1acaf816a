"""Property-based: any sequence of earn, redeem, expire, adjust, reverse and card replacement keeps lots and ledger in step.

After every step, for each card: the sum of its lots' `remaining` equals its `member_points`
balance and the model's figure, no lot is negative, and `verify_ledger()` is clean.
Runs on SQLite and PostgreSQL.
"""

from collections import Counter

import pytest
from django.db import transaction
from django.db.models import Min
from django.utils import timezone
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
from onecard.loyalty.cards import services as card_service
from onecard.loyalty.ledger.verify import verify_ledger
from onecard.loyalty.models import PointsLot
from onecard.loyalty.points import services as svc
from onecard.testing.points import days_ago, lots_total, points_balance, points_cards

points = st.integers(min_value=1, max_value=600)
# Ages far from the 365-day expiry, so the clock moving during a run cannot tip a lot over.
ages = st.one_of(st.integers(min_value=0, max_value=300), st.integers(min_value=400, max_value=700))


class PointsMachine(RuleBasedStateMachine):
    chain = None
    start_cards = ()
    start_spare = ()
    ran = Counter()  # rules that ran, over every example: the test checks each one did

    def __init__(self):
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.cards, self.spare = list(self.start_cards), list(self.start_spare)
        self.model = {card.pk: 0 for card in [*self.cards, *self.spare]}
        self.retired = []
        self.lots = []

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    def unexpired(self, card):
        return svc.available_points(card)

    @rule(i=st.integers(0, 1), amount=points, age=ages)
    def earn(self, i, amount, age):
        self.ran["earn"] += 1
        card = self.cards[i]
        lot = svc.earn(None, card, amount, store=self.chain.a1, at=days_ago(age))
        self.lots.append(lot.pk)
        self.model[card.pk] += amount

    @rule(i=st.integers(0, 1), amount=points)
    def redeem(self, i, amount):
        self.ran["redeem"] += 1
        card = self.cards[i]
        available = self.unexpired(card)
        try:
            uses = svc.redeem(None, card, amount, store=self.chain.a2)
        except BusinessError as error:
            assert error.code == "insufficient_points" and available < amount
            return
        assert available >= amount and sum(u.points for u in uses) == amount
        self.model[card.pk] -= amount

    @rule()
    def expire(self):
        self.ran["expire"] += 1
        now = timezone.now()
        due = {c.pk: 0 for c in [*self.cards, *self.retired]}
        for lot in PointsLot.objects.filter(remaining__gt=0, expires_at__lte=now):
            due[lot.card_id] += lot.remaining
        run = svc.expire_points(now)
        assert run.points == sum(due.values())
        for card_id, amount in due.items():
            self.model[card_id] -= amount
        assert svc.expire_points(now).points == 0

    @rule(i=st.integers(0, 1), amount=st.integers(min_value=-600, max_value=600).filter(bool))
    def adjust(self, i, amount):
        self.ran["adjust"] += 1
        card = self.cards[i]
        available = self.unexpired(card)
        try:
            svc.adjust(self.chain.store_manager, card, amount, reason="property test")
        except BusinessError as error:
            assert error.code == "insufficient_points" and available < -amount
            return
        self.model[card.pk] += amount

    @precondition(lambda self: self.lots)
    @rule(data=st.data())
    def reverse(self, data):
        self.ran["reverse"] += 1
        lot = PointsLot.objects.get(pk=data.draw(st.sampled_from(self.lots)))
        reversible = lot.original - sum(r.requested for r in lot.reversals.all())
        if not reversible:
            with pytest.raises(BusinessError):
                svc.reverse_earn(None, lot)
            return
        amount = data.draw(st.integers(min_value=1, max_value=reversible))
        result = svc.reverse_earn(None, lot, amount)
        assert result.taken + result.shortfall == amount
        self.model[result.lot.card_id] -= result.taken

    @precondition(lambda self: self.spare)
    @rule(i=st.integers(0, 1))
    def replace(self, i):
        self.ran["replace"] += 1
        old, new = self.cards[i], self.spare.pop()
        card_service.replace(self.chain.store_manager, old, new, reason="property test")
        self.model[new.pk], self.model[old.pk] = self.model[old.pk], 0
        self.cards[i] = new
        self.retired.append(old)

    @invariant()
    def books_agree(self):
        for card in [*self.cards, *self.retired]:
            assert lots_total(card) == points_balance(card) == self.model[card.pk]
        assert (PointsLot.objects.aggregate(low=Min("remaining"))["low"] or 0) >= 0
        report = verify_ledger()
        assert report.ok, report.problems


def test_random_points_sequences_keep_lots_and_ledger_in_step(chain, member_factory):
    cards, spare = points_cards(chain, [member_factory(), member_factory()])
    PointsMachine.chain, PointsMachine.start_cards, PointsMachine.start_spare = chain, cards, spare
    run_state_machine_as_test(
        PointsMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
    assert set(PointsMachine.ran) == {"earn", "redeem", "expire", "adjust", "reverse", "replace"}, (
        PointsMachine.ran
    )
