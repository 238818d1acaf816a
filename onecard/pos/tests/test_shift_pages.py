"""The shift pages: the cashier opens, moves cash and closes their shift; managers read the list and the day."""

import pytest
from django.utils import timezone

from onecard.pos import shifts
from onecard.pos.models import CashMovement, Shift

pytestmark = pytest.mark.usefixtures("english")


def test_a_cashier_opens_moves_cash_and_closes_from_the_page(chain, login):
    client = login(chain.cashier_a1)
    # given no shift: the page offers to open one, and the till says so
    assert b"open-shift-form" in client.get("/pos/shifts/current/").content
    assert b"No open shift" in client.get("/till/").content
    # when the cashier opens with ¥200.00
    response = client.post("/pos/shifts/open/", {"opening_float": "200.00"})
    assert response.status_code == 302
    shift = Shift.objects.get(cashier=chain.cashier_a1)
    assert (shift.store, shift.opening_float) == (chain.a1, 20000)
    assert b"Shift open since" in client.get("/till/").content
    # and records ¥50 out twice with the same token (a double click): once
    form = {"token": "t" * 32, "kind": "out", "amount": "50", "reason": "banked"}
    client.post(f"/pos/shifts/{shift.pk}/cash/", form)
    client.post(f"/pos/shifts/{shift.pk}/cash/", form)
    assert list(CashMovement.objects.values_list("amount", flat=True)) == [5000]
    # and closes counting ¥150
    response = client.post(f"/pos/shifts/{shift.pk}/close/", {"counted_cash": "150"})
    assert response.status_code == 302 and response["Location"] == f"/pos/shifts/{shift.pk}/"
    report = client.get(response["Location"])
    assert b'id="cash-expected">\xc2\xa5150.00' in report.content and b'data-fen="0"' in report.content
    # a second close is refused with a message and the first count stands
    again = client.post(f"/pos/shifts/{shift.pk}/close/", {"counted_cash": "1"}, follow=True)
    assert b"closed already" in again.content
    assert Shift.objects.get().counted_cash == 15000


def test_bad_input_on_the_shift_pages_changes_nothing(chain, login):
    client = login(chain.cashier_a1)
    response = client.post("/pos/shifts/open/", {"opening_float": "-1"})
    assert response.status_code == 400 and b"zero or more" in response.content
    assert not Shift.objects.exists()
    shift = shifts.open_shift(chain.cashier_a1, chain.a1, 1000)
    response = client.post(
        f"/pos/shifts/{shift.pk}/cash/", {"token": "x" * 32, "kind": "out", "amount": "10.01", "reason": "r"}
    )
    assert response.status_code == 400 and b"does not hold" in response.content
    response = client.post(f"/pos/shifts/{shift.pk}/close/", {"counted_cash": "abc"})
    assert response.status_code == 400
    assert Shift.objects.get().is_open and not CashMovement.objects.exists()


def test_shifts_are_seen_by_their_cashier_and_their_stores_managers_only(chain, login):
    # given A1's cashier's closed shift
    shift = shifts.open_shift(chain.cashier_a1, chain.a1, 1000)
    shifts.close_shift(chain.cashier_a1, shift, 1000)
    url = f"/pos/shifts/{shift.pk}/"
    # then the cashier, A1's manager and the region manager see it; B1's cashier and another merchant do not
    for user in (chain.cashier_a1, chain.store_manager, chain.region_manager):
        assert login(user).get(url).status_code == 200
    for user in (chain.cashier_b1, chain.other_manager):
        assert login(user).get(url).status_code == 404
    # and the list shows managers their stores' shifts, cashiers only their own
    assert f'data-shift="{shift.pk}"'.encode() in login(chain.store_manager).get("/pos/shifts/").content
    assert f'data-shift="{shift.pk}"'.encode() not in login(chain.cashier_b1).get("/pos/shifts/").content


def test_the_day_report_is_for_managers(chain, login):
    shift = shifts.open_shift(chain.cashier_a1, chain.a1, 1000)
    shifts.close_shift(chain.cashier_a1, shift, 900)
    today = timezone.localdate().isoformat()
    assert (
        login(chain.cashier_a1).get(f"/pos/shifts/day/?store={chain.a1.pk}&date={today}").status_code == 403
    )
    response = login(chain.store_manager).get(f"/pos/shifts/day/?store={chain.a1.pk}&date={today}")
    assert response.status_code == 200
    assert b'id="day-difference" data-fen="-100"' in response.content
    # a store outside the manager's scope falls back to their own
    other = login(chain.store_manager).get(f"/pos/shifts/day/?store={chain.b1.pk}&date={today}")
    assert other.context["store"] == chain.a1
