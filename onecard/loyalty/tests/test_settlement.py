"""Settlement statements (L6): built from clearing postings per pair and period, netting to zero, settled once."""

import datetime
import io
import threading

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from onecard.core.errors import BusinessError, PermissionDenied
from onecard.core.models import AuditEntry
from onecard.loyalty.ledger import services as ledger
from onecard.loyalty.ledger.choices import AccountKind, EntryKind
from onecard.loyalty.ledger.clearing import clearing_account
from onecard.loyalty.ledger.services import EntrySpec, leg
from onecard.loyalty.models import JournalEntry, SettlementLine, SettlementStatement
from onecard.loyalty.models.settlement import PairKind, PeriodKind, StatementStatus
from onecard.loyalty.settlement import services as settlement
from onecard.org import services as org_services
from onecard.testing.concurrency import run_clients
from onecard.testing.settlement import (
    Till,
    clearing_balance,
    ledger_clock,
    make_alliance_pair,
    make_cross_store,
    shanghai,
)
from onecard.testing.stored_value import assert_ledger_clean

DAY1, DAY2 = datetime.date(2026, 3, 10), datetime.date(2026, 3, 11)
MARCH = datetime.date(2026, 3, 1)


@pytest.fixture
def cross_store(chain, member_factory, monkeypatch):
    return make_cross_store(chain, member_factory, monkeypatch)


def figures(statement):
    return (statement.gross_a_owes_b, statement.gross_b_owes_a, statement.net, statement.entry_count)


def test_daily_statements_per_pair_with_gross_and_net(chain, cross_store):
    # when
    day1 = settlement.build_statements("day", DAY1)
    day2 = settlement.build_statements("day", DAY2)

    # then: one statement per day for the pair A1–A2, A being the lower id
    assert len(day1.created) == 1 and len(day2.created) == 1
    first, second = day1.created[0], day2.created[0]
    assert (first.pair_kind, first.node_a, first.node_b) == (PairKind.STORES, chain.a1, chain.a2)
    assert (first.merchant_a, first.merchant_b) == (chain.merchant, chain.merchant)
    assert figures(first) == (3000, 2000, 1000, 2)
    assert figures(second) == (500, 1200, -700, 2)
    assert first.imbalance == 0 and second.imbalance == 0
    assert (first.period_kind, first.period_start, first.status, first.part) == ("day", DAY1, "open", 1)


def test_month_is_the_sum_of_its_days_and_the_pair_nets_to_zero(chain, cross_store):
    # given
    days = [settlement.build_statements("day", d).created[0] for d in (DAY1, DAY2)]

    # when
    month = settlement.build_statements("month", datetime.date(2026, 3, 17)).created[0]

    # then
    assert month.period_start == MARCH
    assert figures(month) == (3500, 3200, 300, 4)
    assert month.net == sum(d.net for d in days)
    assert month.gross_a_owes_b == sum(d.gross_a_owes_b for d in days)
    assert month.imbalance == 0
    # the clearing pair itself: A1 owes A2 exactly the month's net, A2's account mirrors it
    assert clearing_balance(chain.a1, chain.a2) == 300
    assert clearing_balance(chain.a2, chain.a1) == -300


def test_build_twice_gives_the_same_rows(chain, cross_store):
    # given
    first = settlement.build_statements("day", DAY1)
    rows = list(SettlementStatement.objects.values_list("pk", "net", "entry_count"))
    lines = list(SettlementLine.objects.values_list("statement_id", "entry_id", "amount"))

    # when
    again = settlement.build_statements("day", DAY1)

    # then
    assert again.created == [] and again.updated == []
    assert [s.pk for s in again.unchanged] == [first.created[0].pk]
    assert list(SettlementStatement.objects.values_list("pk", "net", "entry_count")) == rows
    assert list(SettlementLine.objects.values_list("statement_id", "entry_id", "amount")) == lines


def test_open_statement_is_updated_by_a_later_build(chain, cross_store, member_factory, monkeypatch):
    # given
    statement = settlement.build_statements("day", DAY1).created[0]
    late = Till(monkeypatch, member_factory(store=chain.a1), chain.a1)
    late.topup(chain.a1, 1000, shanghai(2026, 3, 9))
    late.charge(chain.a2, 400, shanghai(2026, 3, 10, 18))

    # when
    result = settlement.build_statements("day", DAY1)

    # then
    assert [s.pk for s in result.updated] == [statement.pk]
    statement.refresh_from_db()
    assert figures(statement) == (3400, 2000, 1400, 3)
    assert SettlementStatement.objects.count() == 1


def test_settle_posts_one_entry_and_brings_the_clearing_pair_back_to_zero(chain, cross_store):
    # given
    month = settlement.build_statements("month", MARCH).created[0]
    a1_cash = ledger.open_account(AccountKind.STORE_CASH, chain.merchant, node=chain.a1)
    a2_cash = ledger.open_account(AccountKind.STORE_CASH, chain.merchant, node=chain.a2)
    cash_before = (a1_cash.balance, a2_cash.balance)

    # when
    settled = settlement.settle(chain.hq_admin, month)

    # then
    assert settled.status == StatementStatus.SETTLED
    assert settled.settled_by == chain.hq_admin and settled.settled_at is not None
    entry = settled.settle_entry
    assert entry.kind == EntryKind.SETTLE and entry.node == chain.a1  # A1, the debtor, pays
    assert entry.business_ref == f"settlement:{month.pk}"
    amounts = {p.account_id: p.amount for p in entry.postings.all()}
    assert amounts == {
        clearing_account(chain.a1, chain.a2).pk: -300,
        clearing_account(chain.a2, chain.a1).pk: 300,
        a1_cash.pk: 300,  # cash paid out: less cash held (cash is negative when held)
        a2_cash.pk: -300,
    }
    a1_cash.refresh_from_db()
    a2_cash.refresh_from_db()
    assert (a1_cash.balance, a2_cash.balance) == (cash_before[0] + 300, cash_before[1] - 300)
    assert clearing_balance(chain.a1, chain.a2) == 0
    assert clearing_balance(chain.a2, chain.a1) == 0
    assert_ledger_clean()
    audit = AuditEntry.objects.get(subject_type="loyalty.settlementstatement", subject_id=str(month.pk))
    assert audit.actor == chain.hq_admin and audit.after["status"] == "settled" and audit.after["net"] == 300


def test_second_settle_is_refused(chain, cross_store):
    # given
    day = settlement.build_statements("day", DAY1).created[0]
    settlement.settle(chain.hq_admin, day)
    entries = JournalEntry.objects.count()

    # when
    with pytest.raises(settlement.StatementAlreadySettled) as refused:
        settlement.settle(chain.hq_admin, day)

    # then
    assert refused.value.code == "statement_already_settled"
    assert JournalEntry.objects.count() == entries


def test_settling_days_then_the_month_is_refused_and_the_days_clear_the_pair(chain, cross_store):
    # given
    days = [settlement.build_statements("day", d).created[0] for d in (DAY1, DAY2)]
    month = settlement.build_statements("month", MARCH).created[0]

    # when
    for day in days:
        settlement.settle(chain.hq_admin, day)

    # then
    assert clearing_balance(chain.a1, chain.a2) == 0
    with pytest.raises(settlement.StatementOverlapsSettled) as refused:
        settlement.settle(chain.hq_admin, month)
    assert refused.value.code == "statement_overlaps_settled"
    month.refresh_from_db()
    assert month.status == StatementStatus.OPEN
    assert_ledger_clean()


def test_late_postings_for_a_settled_day_go_to_a_late_part(chain, cross_store, member_factory, monkeypatch):
    # given: day 1 settled
    day = settlement.build_statements("day", DAY1).created[0]
    settlement.settle(chain.hq_admin, day)
    settled_figures = figures(day)
    late = Till(monkeypatch, member_factory(store=chain.a2), chain.a2)
    late.topup(chain.a2, 1000, shanghai(2026, 3, 9))
    late.charge(chain.a1, 250, shanghai(2026, 3, 10, 20))  # A2 owes A1, posted after the settlement

    # when
    result = settlement.build_statements("day", DAY1)
    out = io.StringIO()
    call_command("settlement", "build", "--date", "2026-03-10", stdout=out)  # and again: still one late part

    # then
    day.refresh_from_db()
    assert figures(day) == settled_figures and day.status == StatementStatus.SETTLED
    assert len(result.created) == 1
    part2 = result.created[0]
    assert (part2.part, part2.is_late, figures(part2)) == (2, True, (0, 250, -250, 1))
    assert SettlementStatement.objects.filter(period_kind="day", period_start=DAY1).count() == 2
    assert "0 created, 0 updated, 1 unchanged, 1 already settled." in out.getvalue()
    assert "LATE" in out.getvalue()

    # and settling the late part clears the pair again
    settlement.settle(chain.hq_admin, part2)
    assert clearing_balance(chain.a1, chain.a2) == -700 + 0  # only day 2 (A2 owes A1 7.00) is left
    assert_ledger_clean()


def test_settlement_entries_are_not_statement_lines(chain, cross_store):
    # given: day 2 settled, so a SETTLE entry now exists (posted today)
    settlement.settle(chain.hq_admin, settlement.build_statements("day", DAY2).created[0])
    today = settlement.period_start_of("day", ledger.timezone.now().astimezone(settlement.SHANGHAI).date())

    # when
    result = settlement.build_statements("day", today)

    # then
    assert result.statements == []


@pytest.fixture
def alliance_pair(chain, member_factory, monkeypatch):
    return make_alliance_pair(chain, member_factory, monkeypatch)


def test_merchant_pair_statement_nets_and_settles(chain, alliance_pair):
    # given
    partner, p1 = alliance_pair

    # when
    result = settlement.build_statements("day", DAY1)

    # then
    [statement] = result.created
    assert statement.pair_kind == PairKind.MERCHANTS
    assert (statement.merchant_a, statement.merchant_b, statement.node_a) == (chain.merchant, partner, None)
    assert figures(statement) == (4000, 800, 3200, 3)
    assert statement.imbalance == 0

    # when settled: each store's clearing account towards the other merchant goes back to zero
    settled = settlement.settle(chain.hq_admin, statement)

    # then
    assert clearing_balance(chain.a1, p1) == 0
    assert clearing_balance(chain.a2, p1) == 0
    assert clearing_balance(p1, chain.a1) == 0
    amounts = {p.account_id: p.amount for p in settled.settle_entry.postings.all()}
    p1_cash = ledger.open_account(AccountKind.STORE_CASH, partner, node=p1)
    assert amounts[p1_cash.pk] == -3200  # partner receives the net
    assert_ledger_clean()


def test_build_for_one_merchant_leaves_other_pairs_alone(chain, alliance_pair, cross_store):
    # when
    result = settlement.build_statements("day", DAY1, merchant=alliance_pair[0])

    # then: only the pair the partner is part of
    assert [s.pair_kind for s in result.created] == [PairKind.MERCHANTS]


def test_an_entry_whose_sides_do_not_net_is_flagged_and_cannot_be_settled(chain, cross_store, monkeypatch):
    # given: a faulty entry puts 1.00 on A1's clearing account without the mirror leg on A2's
    cash = ledger.open_account(AccountKind.STORE_CASH, chain.merchant, node=chain.a1)
    with ledger_clock(monkeypatch, shanghai(2026, 3, 10, 9)):
        ledger.post(
            EntrySpec(
                kind=EntryKind.ADJUST,
                merchant=chain.merchant,
                legs=[leg(clearing_account(chain.a1, chain.a2), 100), leg(cash, -100)],
            )
        )

    # when
    result = settlement.build_statements("day", DAY1)

    # then
    [statement] = result.unbalanced
    assert statement.imbalance == 100
    with pytest.raises(settlement.StatementUnbalanced):
        settlement.settle(chain.hq_admin, statement)
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("settlement", "build", "--period", "day", "--date", "2026-03-10", stdout=out)
    assert "UNBALANCED 100" in out.getvalue()


def test_a_period_not_over_cannot_be_settled(chain, member_factory, monkeypatch):
    # given: a cross-store charge today
    till = Till(monkeypatch, member_factory(store=chain.a1), chain.a1)
    now = ledger.timezone.now()
    till.topup(chain.a1, 1000, now)
    till.charge(chain.a2, 100, now)
    today = now.astimezone(settlement.SHANGHAI).date()
    statement = settlement.build_statements("day", today).created[0]

    # when / then
    with pytest.raises(settlement.StatementPeriodNotOver):
        settlement.settle(chain.hq_admin, statement)


def test_settle_needs_the_permission_and_both_stores_in_scope(chain, cross_store):
    # given
    statement = settlement.build_statements("day", DAY1).created[0]

    # then: a store manager may view but not settle; a region manager of both stores may
    with pytest.raises(PermissionDenied):
        settlement.settle(chain.store_manager, statement)
    assert settlement.settle(chain.region_manager, statement).status == StatementStatus.SETTLED


def test_visible_statements_follow_the_scope(chain, cross_store):
    # given
    settlement.build_statements("day", DAY1)
    b1_manager = org_services.create_staff(
        None, username="b1mgr", password="pass-word-123", node=chain.b1, roles=[chain.roles["store_manager"]]
    )

    # then
    assert settlement.visible_statements(chain.store_manager).count() == 1  # A1 is a party
    assert settlement.visible_statements(chain.hq_admin).count() == 1
    assert settlement.visible_statements(b1_manager).count() == 0
    assert settlement.visible_statements(chain.other_manager).count() == 0


def test_bad_period_is_refused(chain):
    with pytest.raises(settlement.InvalidPeriod) as refused:
        settlement.build_statements("week", DAY1)
    assert refused.value.code == "invalid_period"
    with pytest.raises(settlement.InvalidPeriod):
        settlement.parse_period("day", "2026-13-01")
    assert settlement.parse_period("month", "2026-03") == MARCH
    assert settlement.parse_period("month", "2026-03-17") == MARCH
    assert settlement.default_period("day", datetime.date(2026, 3, 1)) == datetime.date(2026, 2, 28)
    assert settlement.default_period("month", datetime.date(2026, 1, 15)) == datetime.date(2025, 12, 1)


def test_command_prints_the_table(chain, cross_store):
    # when
    out = io.StringIO()
    call_command("settlement", "build", "--period", "month", "--date", "2026-03", stdout=out)

    # then
    text = out.getvalue()
    assert "1 created" in text
    assert "徐汇店" in text and "浦东店" in text
    assert "35.00" in text and "32.00" in text and "3.00" in text
    assert SettlementStatement.objects.get().period_kind == PeriodKind.MONTH


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_builds_and_settles_make_one_statement_and_one_entry(chain, member_factory, monkeypatch):
    # given
    make_cross_store(chain, member_factory, monkeypatch)
    barrier = threading.Barrier(4)

    def build(_n):
        barrier.wait()
        settlement.build_statements("day", DAY1)

    # when: four builds at once
    run_clients(4, build)

    # then
    [statement] = SettlementStatement.objects.filter(period_start=DAY1)
    assert SettlementLine.objects.filter(statement=statement).count() == 2

    # when: four settles at once
    outcomes = []

    def settle(_n):
        barrier.wait()
        try:
            settlement.settle(chain.hq_admin, statement)
            outcomes.append("settled")
        except BusinessError as error:
            outcomes.append(error.code)

    run_clients(4, settle)

    # then
    assert sorted(outcomes) == ["settled"] + ["statement_already_settled"] * 3
    assert JournalEntry.objects.filter(kind=EntryKind.SETTLE).count() == 1
    assert_ledger_clean()
