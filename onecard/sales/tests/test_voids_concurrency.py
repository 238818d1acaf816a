"""PostgreSQL only: two voids of one charge at once, and a retried void; exactly one reversal."""

import threading

import pytest

from onecard.core.errors import BusinessError
from onecard.core.idempotency import run_idempotent
from onecard.loyalty.models import JournalEntry
from onecard.loyalty.models.stored_value import CardTransaction, CardTxKind
from onecard.loyalty.stored_value import services as stored_value
from onecard.sales import services as sales
from onecard.sales.models import SaleReturn
from onecard.testing.concurrency import run_clients
from onecard.testing.stored_value import assert_ledger_clean, balances, sv_card

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_voids_at_once_one_succeeds(chain, member_factory):
    # given ten charges of ¥10 on a card topped up with ¥200
    card = sv_card(chain, member_factory())
    stored_value.topup(None, card, 20_000, store=chain.a1)
    for _round in range(10):
        charge = sales.charge_card(chain.cashier_a1, card, 1_000, store=chain.a1)
        barrier = threading.Barrier(2)
        outcomes = []

        def client(n, charge=charge, barrier=barrier, outcomes=outcomes):
            barrier.wait()
            try:
                sales.void_card_transaction(chain.cashier_a1, charge, store=chain.a1, reason=f"c{n}")
                outcomes.append("voided")
            except BusinessError as error:
                outcomes.append(error.code)

        # when two tills void it at the same moment
        run_clients(2, client)
        # then one void went through and the other was told it was voided already
        assert sorted(outcomes) == ["already_voided", "voided"]
        assert CardTransaction.objects.filter(kind=CardTxKind.VOID, original=charge).count() == 1
        assert JournalEntry.objects.filter(reverses_id=charge.entry_id).count() == 1
        assert SaleReturn.objects.filter(sale__tenders__card_transaction=charge).count() == 1
    assert balances(card) == (20_000, 0, 0)
    assert_ledger_clean()


def test_a_retried_void_replays_its_answer(chain, member_factory):
    # given a charge voided under an idempotency key
    card = sv_card(chain, member_factory())
    stored_value.topup(None, card, 5_000, store=chain.a1)
    charge = sales.charge_card(chain.cashier_a1, card, 1_000, store=chain.a1)

    def void():
        tx = sales.void_card_transaction(chain.cashier_a1, charge, store=chain.a1)
        return 200, {"tx": tx.pk}

    payload = {"action": "void", "original": charge.pk}
    first = run_idempotent("void-key-1", payload, void, scope="till:1")
    # when the same request comes again (a lost answer, a double click)
    again = run_idempotent("void-key-1", payload, void, scope="till:1")
    # then the same void is answered and nothing more moved
    assert again.body == first.body and again.status == 200
    assert CardTransaction.objects.filter(kind=CardTxKind.VOID).count() == 1
    assert balances(card) == (5_000, 0, 0)
    assert_ledger_clean()
