"""PostgreSQL only: ten clients redeeming from one card at once never spend a point twice."""

import threading

import pytest
from django.db import connection

from onecard.core.errors import BusinessError
from onecard.loyalty.ledger.choices import EntryKind
from onecard.loyalty.models import JournalEntry, PointsLotUse
from onecard.loyalty.points import services as svc
from onecard.testing.points import (
    assert_books,
    days_ago,
    lots_total,
    points_balance,
    points_cards,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_ten_threads_redeeming_on_one_card_never_overspend(chain, member_factory):
    # given: 1,000 points in three lots
    (card,), _spare = points_cards(chain, [member_factory()])
    for amount, age in ((400, 300), (350, 100), (250, 10)):
        svc.earn(None, card, amount, store=chain.a1, at=days_ago(age))
    acknowledged, refused, errors = [], [], []
    start = threading.Barrier(10)

    def client(n):
        try:
            start.wait()
            for i in range(12):
                amount = 7 + n + i  # 7..27 points
                try:
                    svc.redeem(chain.cashier_a1, card, amount, store=chain.a1, business_ref=f"t{n}:{i}")
                    acknowledged.append(amount)
                except BusinessError as error:
                    assert error.code == "insufficient_points"
                    refused.append(amount)
        except Exception as error:  # noqa: BLE001 - re-raised below
            errors.append(error)
        finally:
            connection.close()

    # when: 10 threads × 12 redemptions ask for about 2,000 points in all
    threads = [threading.Thread(target=client, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then: no error; what was acknowledged is exactly what left the card, never more than it held
    assert not errors, errors
    assert refused, "the card should have run out"
    spent = sum(acknowledged)
    assert spent <= 1_000
    assert points_balance(card) == lots_total(card) == 1_000 - spent
    assert JournalEntry.objects.filter(kind=EntryKind.REDEEM).count() == len(acknowledged)
    assert sum(PointsLotUse.objects.values_list("points", flat=True)) == spent
    assert_books(card)


def test_expiry_job_run_by_four_threads_at_once_expires_each_point_once(chain, member_factory):
    # given: three cards, each with 100 expired points and 40 current ones
    cards, _spare = points_cards(chain, [member_factory() for _ in range(3)])
    for card in cards:
        svc.earn(None, card, 100, store=chain.a1, at=days_ago(400))
        svc.earn(None, card, 40, store=chain.a1, at=days_ago(5))
    runs, errors = [], []
    start = threading.Barrier(4)

    def job():
        try:
            start.wait()
            runs.append(svc.expire_points())
        except Exception as error:  # noqa: BLE001 - re-raised below
            errors.append(error)
        finally:
            connection.close()

    # when: four workers run the job at the same moment
    threads = [threading.Thread(target=job) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then: 300 points expired in all, by one entry per card
    assert not errors, errors
    assert sum(run.points for run in runs) == 300
    assert JournalEntry.objects.filter(kind=EntryKind.EXPIRE).count() == 3
    assert [points_balance(card) for card in cards] == [40, 40, 40]
    assert_books(*cards)
