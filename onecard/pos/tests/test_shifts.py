"""Shifts (交班): opening float, takings per tender, cash in and out, expected against counted cash, refusals."""

import contextlib
import datetime

import pytest
from django.utils import timezone

from onecard.core.errors import ValidationFailed
from onecard.core.models import AuditEntry
from onecard.loyalty.stored_value import services as stored_value
from onecard.pos import shifts
from onecard.pos.errors import CashOutExceedsDrawer, NotYourShift, ShiftAlreadyOpen, ShiftClosed
from onecard.pos.models import CashMovement, Shift
from onecard.sales import checkout, returns
from onecard.sales import services as sales


def _sell(chain, shop, ref, tenders, cashier=None, store=None, items=(("CAKE-1", 1),)):
    return checkout.checkout(
        cashier or chain.cashier_a1,
        store=store or chain.a1,
        card=shop.card,
        items=list(items),
        tenders=tenders,
        business_ref=ref,
    )


def _rows(shift):
    return {row["tender"]: row for row in shift.takings["rows"]}


def test_a_shift_closes_with_its_takings_per_tender_and_the_cash_difference(chain, shop, card):
    # given a shift opened with a ¥200 float
    cashier = chain.cashier_a1
    shift = shifts.open_shift(cashier, chain.a1, 20000)
    # and during it: a ¥30 cake paid ¥10 cash + ¥20 WeChat, a ¥30 cake paid by stored value,
    _sell(chain, shop, "S-1", {"cash": 1000, "wechat": 2000})
    _sell(chain, shop, "S-2", {"stored_value": 3000})
    # a ¥500 cash top-up and a ¥100 Alipay top-up, a ¥15 charge and ¥5 of it refunded
    stored_value.topup(cashier, card, 50000, store=chain.a1, tender="cash")
    stored_value.topup(cashier, card, 10000, store=chain.a1, tender="alipay")
    charge = sales.charge_card(cashier, card, 1500, store=chain.a1)
    sales.refund_charge(cashier, charge, 500, store=chain.a1, reason="wrong item")
    # the cash sale returned whole (¥10 cash and ¥20 WeChat back), ¥50 cash in, ¥300 cash out to the bank
    returns.return_sale(cashier, _sale("S-1"), store=chain.a1, reason="changed mind")
    shifts.record_cash_movement(cashier, shift, "in", 5000, "change from the office")
    shifts.record_cash_movement(cashier, shift, "out", 30000, "banked")
    # when the cashier counts ¥458 and closes
    closed = shifts.close_shift(cashier, shift, 45800)
    # then the takings per tender are kept on the shift
    rows = _rows(closed)
    assert rows["cash"] == {
        "tender": "cash",
        "sales": 1000,
        "returns": 1000,
        "topups": 50000,
        "package_sales": 0,
        "paid_back": 0,
    }
    assert (rows["wechat"]["sales"], rows["wechat"]["returns"]) == (2000, 2000)
    assert rows["alipay"]["topups"] == 10000
    assert (rows["stored_value"]["sales"], rows["stored_value"]["returns"]) == (3000 + 1500, 500)
    assert closed.takings["counts"] == {"sales": 3, "returns": 2, "topups": 2}
    # and expected cash = 200 + (10 − 10 + 500) + 50 − 300 = ¥450; counted ¥458: ¥8 over
    assert (closed.expected_cash, closed.counted_cash, closed.difference) == (45000, 45800, 800)
    assert closed.status == "closed" and closed.closed_by == cashier and closed.closed_at is not None
    assert AuditEntry.objects.filter(subject_type="pos.shift", subject_id=str(shift.pk)).count() == 4


def _sale(ref):
    from onecard.sales.models import Sale

    return Sale.objects.get(business_ref=ref)


def test_only_the_cashiers_own_takings_at_the_shifts_store_count(chain, shop):
    # given A1's cashier's shift, and sales by the store manager at A1 and by the cashier at A2 (picked store)
    shift = shifts.open_shift(chain.cashier_a1, chain.a1, 0)
    _sell(chain, shop, "MINE", {"cash": 3000})
    _sell(chain, shop, "MANAGER", {"cash": 3000}, cashier=chain.store_manager)
    _sell(chain, shop, "OTHER-STORE", {"cash": 3000}, store=chain.a2)
    # when the shift closes
    closed = shifts.close_shift(chain.cashier_a1, shift, 3000)
    # then only the cashier's own A1 sale counts
    assert _rows(closed)["cash"]["sales"] == 3000
    assert closed.difference == 0


def test_a_sale_made_before_the_shift_opened_does_not_count(chain, shop):
    # given a sale, then a shift opened a moment later
    sale = _sell(chain, shop, "EARLY", {"cash": 3000})
    shift = shifts.open_shift(chain.cashier_a1, chain.a1, 10000)
    Shift.objects.filter(pk=shift.pk).update(opened_at=sale.created_at + datetime.timedelta(microseconds=1))
    # when it closes
    closed = shifts.close_shift(chain.cashier_a1, Shift.objects.get(pk=shift.pk), 10000)
    # then nothing was taken in it
    assert closed.takings["rows"] == [] and closed.expected_cash == 10000


def test_a_shift_without_a_sale_closes_on_its_float(chain):
    # given a shift with a ¥100 float and nothing sold
    shift = shifts.open_shift(chain.cashier_a1, chain.a1, 10000)
    # when the cashier counts ¥99.50
    closed = shifts.close_shift(chain.cashier_a1, shift, 9950)
    # then the expected cash is the float and ¥0.50 is short
    assert (closed.expected_cash, closed.difference, closed.shortfall) == (10000, -50, 50)
    assert closed.takings == {"rows": [], "counts": {"sales": 0, "returns": 0}, "points": 0}


def test_closing_twice_is_refused_and_changes_nothing(chain):
    # given a closed shift
    shift = shifts.open_shift(chain.cashier_a1, chain.a1, 10000)
    shifts.close_shift(chain.cashier_a1, shift, 10000)
    # when it is closed again with another count
    with pytest.raises(ShiftClosed):
        shifts.close_shift(chain.cashier_a1, shift, 1)
    # then the first close stands, and no cash can move on it either
    assert Shift.objects.get(pk=shift.pk).counted_cash == 10000
    with pytest.raises(ShiftClosed):
        shifts.record_cash_movement(chain.cashier_a1, shift, "in", 100, "late")
    assert not CashMovement.objects.exists()


def test_a_cashier_has_one_open_shift(chain):
    # given an open shift
    shifts.open_shift(chain.cashier_a1, chain.a1, 0)
    # when the cashier opens another
    with pytest.raises(ShiftAlreadyOpen):
        shifts.open_shift(chain.cashier_a1, chain.a1, 5000)
    # then there is still one; after closing it a new one opens
    assert Shift.objects.count() == 1
    shifts.close_shift(chain.cashier_a1, Shift.objects.get(), 0)
    assert shifts.open_shift(chain.cashier_a1, chain.a1, 0).is_open


@pytest.mark.parametrize(
    ("kind", "amount", "reason", "field"),
    [
        ("in", 0, "x", "amount"),
        ("out", -5, "x", "amount"),
        ("in", 100, "  ", "reason"),
        ("sideways", 100, "x", "kind"),
        ("in", "1", "x", "amount"),
    ],
)
def test_bad_cash_movements_are_refused(chain, kind, amount, reason, field):
    # given an open shift
    shift = shifts.open_shift(chain.cashier_a1, chain.a1, 10000)
    # when a malformed movement is recorded, then it names the field and nothing is written
    with pytest.raises(ValidationFailed) as refused:
        shifts.record_cash_movement(chain.cashier_a1, shift, kind, amount, reason)
    assert field in refused.value.errors
    assert not CashMovement.objects.exists()


def test_cash_out_above_the_drawer_is_refused(chain):
    # given a ¥100 float
    shift = shifts.open_shift(chain.cashier_a1, chain.a1, 10000)
    # when ¥100.01 is taken out, then it is refused with what the drawer holds
    with pytest.raises(CashOutExceedsDrawer) as refused:
        shifts.record_cash_movement(chain.cashier_a1, shift, "out", 10001, "banked")
    assert refused.value.extra == {"in_drawer": 10000, "requested": 10001}
    # and all of it may go
    shifts.record_cash_movement(chain.cashier_a1, shift, "out", 10000, "banked")


@pytest.mark.parametrize("value", [-1, None, 1.5, "100", True])
def test_bad_floats_and_counts_are_refused(chain, value):
    with pytest.raises(ValidationFailed):
        shifts.open_shift(chain.cashier_a1, chain.a1, value)
    assert not Shift.objects.exists()
    shift = shifts.open_shift(chain.cashier_a1, chain.a1, 0)
    with pytest.raises(ValidationFailed):
        shifts.close_shift(chain.cashier_a1, shift, value)
    assert Shift.objects.get().is_open


def test_another_cashier_cannot_close_a_shift_but_its_store_manager_can(chain):
    # given A1's cashier's open shift
    shift = shifts.open_shift(chain.cashier_a1, chain.a1, 10000)
    # when B1's cashier, then the A1 store manager, closes it
    with pytest.raises(NotYourShift):
        shifts.close_shift(chain.cashier_b1, shift, 10000)
    closed = shifts.close_shift(chain.store_manager, shift, 10000)
    # then the manager's close stands, naming who closed it
    assert closed.closed_by == chain.store_manager


def test_a_shift_opens_only_at_a_store_in_scope(chain):
    with pytest.raises(Exception) as refused:
        shifts.open_shift(chain.cashier_a1, chain.b1, 0)
    assert getattr(refused.value, "code", "") == "permission_denied"
    with pytest.raises(Exception) as refused:
        shifts.open_shift(chain.store_manager, chain.east, 0)
    assert getattr(refused.value, "code", "") == "not_a_store"
    assert not Shift.objects.exists()


def test_the_day_report_sums_the_stores_shifts_and_the_whole_day(chain, shop):
    # given two shifts at A1 today: the cashier's (closed ¥1 short) and the manager's (still open)
    first = shifts.open_shift(chain.cashier_a1, chain.a1, 10000)
    _sell(chain, shop, "D-1", {"cash": 3000})
    shifts.close_shift(chain.cashier_a1, first, 12900)
    shifts.open_shift(chain.store_manager, chain.a1, 5000)
    _sell(chain, shop, "D-2", {"alipay": 3000}, cashier=chain.store_manager)
    # when the day's report is read
    report = shifts.day_report(chain.a1, timezone.localdate())
    # then it lists both shifts, every cashier's takings, and the closed shift's cash
    assert [s.cashier for s in report.shifts] == [chain.cashier_a1, chain.store_manager]
    assert {r.tender: r.sales for r in report.takings.lines} == {"cash": 3000, "alipay": 3000}
    assert (report.expected_cash, report.counted_cash, report.difference, report.shortage) == (
        13000,
        12900,
        -100,
        100,
    )
    assert (report.opening_floats, report.open_shifts, report.outside_net) == (15000, 1, 3000)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_closes_and_opens_leave_one_winner(chain):
    from onecard.testing.concurrency import run_clients

    # given an open shift with a ¥100 float
    shift = shifts.open_shift(chain.cashier_a1, chain.a1, 10000)
    outcomes = []

    def close(n):
        try:
            shifts.close_shift(chain.cashier_a1, shift, 10000 + n)
            outcomes.append(("closed", n))
        except ShiftClosed:
            outcomes.append(("refused", n))

    # when eight tabs close it at once
    run_clients(8, close)
    # then exactly one close stands, with its own count
    closed = [n for what, n in outcomes if what == "closed"]
    assert len(closed) == 1 and Shift.objects.get(pk=shift.pk).counted_cash == 10000 + closed[0]
    opened = []

    def open_one(n):
        with contextlib.suppress(ShiftAlreadyOpen):
            opened.append(shifts.open_shift(chain.cashier_a1, chain.a1, n))

    # and when eight tabs open a new shift at once, one opens
    run_clients(8, open_one)
    assert len(opened) == 1 and Shift.objects.filter(status="open").count() == 1
