"""Property-based (hypothesis, SQLite and PostgreSQL): random sequences of money API calls, replays and
conflicting reuses of keys, expired holds and refunds keep every invariant."""

import datetime
from collections import Counter

import pytest
from django.db.models import F, Q, Sum
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

from onecard.loyalty.models.stored_value import CardTransaction, CardTxKind
from onecard.loyalty.stored_value import services as stored_value
from onecard.testing.points import lots_total, points_balance
from onecard.testing.points import rule as earn_rule
from onecard.testing.pos import idempotency_key, problem_code, send_keyed, stored_key
from onecard.testing.stored_value import assert_ledger_clean, balances, bonus_rule, sv_card

pytestmark = pytest.mark.usefixtures("api_urls")  # served the API urlconf only

BASE = "/api/v1/pos"


# ---- property-based, through the API (SQLite and PostgreSQL) -----------------------------------------------

amounts = st.integers(min_value=1, max_value=30_000)


class PosApiMachine(RuleBasedStateMachine):
    """A till on one fresh card: its model of the card, and every answered call kept for replays."""

    chain = new_member = terminal = pos = None

    def __init__(self):
        super().__init__()
        # A member and card of its own per example: nothing one example did (points, tier, limits) may
        # change what the next one draws, or hypothesis sees its data generation differ between runs.
        self.card = sv_card(self.chain, type(self).new_member())
        # ¥2,000 to start with, so most charges and holds pass and there is something to refund
        seed = stored_value.topup(None, self.card, 200_000, store=self.chain.a1)
        self.value = seed.principal + seed.bonus  # principal + bonus + held, fen
        self.open_holds = {}  # hold id → amount
        self.refundable = {}  # charge/capture id → fen left to refund
        self.answered = []  # (path, payload, key, status, body)
        self.acked = set()  # keys answered 200

    def call(self, path, payload, key=None):
        key = key or idempotency_key()
        response = send_keyed(self.pos, self.terminal, path, payload, key)
        body = response.json()
        assert response.status_code in (200, 422), (path, payload, response.status_code, body)
        assert response["Idempotent-Replayed"] == "false"
        self.answered.append((path, payload, key, response.status_code, body))
        if response.status_code == 200:
            self.acked.add(key)
        return response.status_code, body

    @rule(amount=amounts)
    def topup(self, amount):
        status, body = self.call(f"{BASE}/topups", {"card_no": self.card.number, "amount": amount})
        if status == 200:
            self.value += amount + body["transaction"]["bonus"]
        else:
            assert body["code"] == "balance_cap_exceeded", body

    @rule(amount=amounts)
    def charge(self, amount):
        status, body = self.call(f"{BASE}/charges", {"card_no": self.card.number, "amount": amount})
        if status == 200:
            self.value -= amount
            self.refundable[body["transaction"]["id"]] = amount
        else:
            assert body["code"] == "insufficient_balance", body

    @rule(amount=amounts)
    def hold(self, amount):
        status, body = self.call(f"{BASE}/holds", {"card_no": self.card.number, "amount": amount})
        if status == 200:
            self.open_holds[body["transaction"]["id"]] = amount
        else:
            assert body["code"] == "insufficient_balance", body

    @precondition(lambda self: self.open_holds)
    @rule(data=st.data(), how=st.sampled_from(["capture", "void", "expire"]))
    def close_hold(self, data, how):
        hold_id = data.draw(st.sampled_from(sorted(self.open_holds)))
        held = self.open_holds.pop(hold_id)
        if how == "void":
            status, body = self.call(f"{BASE}/holds/{hold_id}/void", {})
            assert status == 200, body
            return
        if how == "expire":
            CardTransaction.objects.filter(pk=hold_id).update(
                expires_at=timezone.now() - datetime.timedelta(seconds=1)
            )
            status, body = self.call(f"{BASE}/holds/{hold_id}/capture", {})
            assert (status, body["code"]) == (422, "hold_expired"), body
            return  # the funds are back on the card: value (which counts held) unchanged
        amount = data.draw(st.integers(min_value=1, max_value=held))
        status, body = self.call(f"{BASE}/holds/{hold_id}/capture", {"amount": amount})
        assert status == 200, body
        self.value -= amount
        self.refundable[body["transaction"]["id"]] = amount

    @precondition(lambda self: any(self.refundable.values()))
    @rule(data=st.data())
    def refund(self, data):
        tx_id = data.draw(st.sampled_from(sorted(i for i, left in self.refundable.items() if left)))
        left = self.refundable[tx_id]
        amount = data.draw(st.integers(min_value=1, max_value=left + 1))
        status, body = self.call(
            f"{BASE}/refunds", {"transaction_id": tx_id, "amount": amount, "reason": "property"}
        )
        if amount > left:
            assert (status, body["code"]) == (422, "over_refund"), body
            return
        assert status == 200, body
        self.refundable[tx_id] = left - amount
        self.value += amount

    @precondition(lambda self: self.answered)
    @rule(data=st.data())
    def replay(self, data):
        """A retry with the same key and body: the first answer, unchanged, and no new effect."""
        path, payload, key, status, body = data.draw(st.sampled_from(self.answered))
        again = send_keyed(self.pos, self.terminal, path, payload, key)
        assert (again.status_code, again.json()) == (status, body)
        assert again["Idempotent-Replayed"] == "true"

    @precondition(lambda self: self.answered)
    @rule(data=st.data())
    def reuse_key_for_another_body(self, data):
        path, payload, key, _status, _body = data.draw(st.sampled_from(self.answered))
        other = {**payload, "reason": "another"} if "reason" in payload else {**payload, "amount": 1}
        if other == payload:
            other = {**payload, "amount": 2}
        response = send_keyed(self.pos, self.terminal, path, other, key)
        assert response.status_code == 409 and problem_code(response) == "idempotency_conflict"

    @invariant()
    def books_agree(self):
        principal, bonus, held = balances(self.card)
        assert min(principal, bonus, held) >= 0
        assert principal + bonus + held == self.value
        assert held == sum(self.open_holds.values())
        # one transaction per acknowledged key, none for a refused one
        keys = Counter(
            CardTransaction.objects.filter(card=self.card)
            .exclude(idempotency_key="")
            .values_list("idempotency_key", flat=True)
        )
        assert keys == Counter({stored_key(self.terminal, key): 1 for key in self.acked})
        # points: what charges and captures earned, less what refunds took back, and the lots agree
        rows = CardTransaction.objects.filter(card=self.card)
        earned = rows.filter(kind__in=[CardTxKind.CHARGE, CardTxKind.CAPTURE]).aggregate(
            s=Sum("points_earned")
        )
        reversed_ = rows.filter(kind=CardTxKind.REFUND).aggregate(s=Sum("points_reversed"))
        assert (
            points_balance(self.card) == lots_total(self.card) == (earned["s"] or 0) - (reversed_["s"] or 0)
        )
        for original in rows.filter(
            Q(kind__in=[CardTxKind.CHARGE, CardTxKind.CAPTURE]), refunded_total=F("amount")
        ):
            back = original.followups.filter(kind=CardTxKind.REFUND).aggregate(
                p=Sum("principal"), b=Sum("bonus"), r=Sum("points_reversed")
            )
            assert (back["p"], back["b"], back["r"] or 0) == (
                original.principal,
                original.bonus,
                original.points_earned,
            )
        assert_ledger_clean()


def test_random_api_sequences_keep_every_invariant(chain, member_factory, terminal, pos):
    # given a bonus rule and an earn rule, so top-ups give bonus and charges earn points to take back
    bonus_rule(chain, [[10_000, 1_000], [50_000, 7_000]])
    earn_rule(chain, "1")
    PosApiMachine.chain, PosApiMachine.new_member = chain, member_factory
    PosApiMachine.terminal, PosApiMachine.pos = terminal, pos
    run_state_machine_as_test(
        PosApiMachine,
        settings=settings(
            max_examples=12,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )


@pytest.fixture(autouse=True)
def _forget_machine():
    yield
    PosApiMachine.chain = PosApiMachine.new_member = PosApiMachine.terminal = PosApiMachine.pos = None
