"""Settlement pages: list with filters and totals, generate, detail, mark settled, .xlsx, and who sees what."""

import datetime
import io

import pytest
from openpyxl import load_workbook

from onecard.core.models import AuditEntry
from onecard.loyalty.models import SettlementStatement
from onecard.loyalty.models.settlement import StatementStatus
from onecard.loyalty.settlement import services as settlement
from onecard.org import services as org_services
from onecard.testing.settlement import clearing_balance, make_alliance_pair, make_cross_store
from onecard.testing.stored_value import assert_ledger_clean

URL = "/settlement/"
DAY1 = datetime.date(2026, 3, 10)
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def statements(chain, member_factory, monkeypatch):
    """Day statements of A1–A2 for 10 and 11 March and the March statement."""
    make_cross_store(chain, member_factory, monkeypatch)
    day1 = settlement.build_statements("day", DAY1).created[0]
    day2 = settlement.build_statements("day", datetime.date(2026, 3, 11)).created[0]
    month = settlement.build_statements("month", DAY1).created[0]
    return day1, day2, month


def test_list_shows_statements_with_totals(chain, login, statements):
    # when
    response = login(chain.hq_admin).get(URL, **EN)

    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("data-statement=") == 3
    assert "徐汇店 pays 浦东店 ¥10.00" in html  # day 1: A1 owes 30.00, is owed 20.00
    assert "浦东店 pays 徐汇店 ¥7.00" in html  # day 2
    assert 'data-total="count">3<' in html
    assert 'data-total="a_owes_b">¥70.00<' in html  # 30 + 5 (days) + 35 (month)
    assert 'data-total="open_to_pay">¥20.00<' in html  # 10 + 7 + 3


def test_list_filters_by_period_date_month_status_and_store(chain, login, statements):
    client = login(chain.hq_admin)
    day1, _day2, month = statements

    def listed(query):
        html = client.get(f"{URL}?{query}", **EN).content.decode()
        return {int(x.split('"')[1]) for x in html.split("data-statement=")[1:]}

    assert listed("period=month") == {month.pk}
    assert listed("date=2026-03-10") == {day1.pk}
    assert listed("period=day&month=2026-03") == {day1.pk, statements[1].pk}
    assert listed("status=settled") == set()
    assert listed(f"store={chain.b1.pk}") == set()
    assert listed(f"store={chain.a2.pk}&period=month") == {month.pk}


def test_store_manager_of_b1_does_not_see_a1_a2_statements(chain, login, statements):
    # given
    b1_manager = org_services.create_staff(
        None, username="b1mgr", password="pass-word-123", node=chain.b1, roles=[chain.roles["store_manager"]]
    )
    day1 = statements[0]
    client = login(b1_manager)

    # when
    listing = client.get(URL, **EN)

    # then
    assert listing.status_code == 200
    assert "data-statement=" not in listing.content.decode()
    assert client.get(f"{URL}{day1.pk}/").status_code == 404
    assert client.get(f"{URL}{day1.pk}/export/").status_code == 404
    assert client.get(f"{URL}?export=xlsx").status_code == 200
    assert load_workbook(io.BytesIO(client.get(f"{URL}?export=xlsx").content)).active.max_row == 1


def test_a1_store_manager_sees_the_pair_but_cannot_settle(chain, login, statements):
    # given
    day1 = statements[0]
    client = login(chain.store_manager)

    # when
    detail = client.get(f"{URL}{day1.pk}/", **EN)
    settle = client.post(f"{URL}{day1.pk}/settle/")

    # then
    assert detail.status_code == 200
    assert "Mark settled" not in detail.content.decode()
    assert settle.status_code == 403
    day1.refresh_from_db()
    assert day1.status == StatementStatus.OPEN


def test_staff_without_settlement_view_is_refused(chain, login, statements):
    assert login(chain.cashier_a1).get(URL).status_code == 403


def test_detail_lists_the_entries(chain, login, statements):
    # when
    response = login(chain.hq_admin).get(f"{URL}{statements[0].pk}/", **EN)

    # then
    html = response.content.decode()
    assert html.count("data-entry=") == 2
    assert "Mark settled" in html
    assert "¥30.00" in html and "¥20.00" in html
    assert "Charge" in html and "Top-up" in html


def test_mark_settled_posts_the_entry_and_a_second_time_is_refused(chain, login, statements):
    # given
    day1, day2, _month = statements
    client = login(chain.hq_admin)

    # when
    first = client.post(f"{URL}{day1.pk}/settle/", **EN)
    client.post(f"{URL}{day2.pk}/settle/", **EN)
    again = client.post(f"{URL}{day1.pk}/settle/", follow=True, **EN)

    # then
    assert first.status_code == 302
    day1.refresh_from_db()
    assert day1.status == StatementStatus.SETTLED and day1.settle_entry is not None
    assert "This statement has already been settled." in again.content.decode()
    assert clearing_balance(chain.a1, chain.a2) == 0
    assert_ledger_clean()
    # the month overlaps the settled days: refused with a message, nothing posted
    page = client.post(f"{URL}{statements[2].pk}/settle/", follow=True, **EN).content.decode()
    assert "already settled in a statement of the other period" in page


def test_generate_builds_the_period_and_is_idempotent(chain, login, member_factory, monkeypatch):
    # given
    make_cross_store(chain, member_factory, monkeypatch)
    client = login(chain.hq_admin)

    # when
    first = client.post(f"{URL}generate/", {"period": "day", "date": "2026-03-10"}, follow=True, **EN)
    client.post(f"{URL}generate/", {"period": "day", "date": "2026-03-10"}, **EN)
    month = client.post(f"{URL}generate/", {"period": "month", "date": "2026-03-17"}, follow=True, **EN)

    # then
    assert "Statements for 2026-03-10: 1 created, 0 updated, 0 unchanged." in first.content.decode()
    assert "Statements for 2026-03: 1 created" in month.content.decode()
    assert SettlementStatement.objects.filter(period_kind="day").count() == 1
    assert SettlementStatement.objects.get(period_kind="month").period_start == datetime.date(2026, 3, 1)
    bad = client.post(f"{URL}generate/", {"period": "day", "date": "yesterday"}, follow=True, **EN)
    assert "Choose a period" in bad.content.decode()
    assert client.get(f"{URL}generate/").status_code == 405


def test_statement_export_has_the_lines(chain, login, statements):
    # when
    response = login(chain.hq_admin).get(f"{URL}{statements[2].pk}/export/", **EN)

    # then
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(response.content))
    summary = {row[0]: row[1] for row in book["Statement"].iter_rows(values_only=True)}
    assert summary["Net (fen)"] == 300 and summary["Entries"] == 4 and summary["Payer"] == "徐汇店"
    rows = list(book["Entries"].iter_rows(values_only=True))
    assert rows[0][:3] == ("Time", "Entry no.", "Kind")
    assert len(rows) == 5
    assert [r[6] for r in rows[1:]] == [3000, 2000, 500, 1200]
    assert [(r[7], r[8]) for r in rows[1:]] == [
        ("徐汇店", "浦东店"),
        ("浦东店", "徐汇店"),
        ("徐汇店", "浦东店"),
        ("浦东店", "徐汇店"),
    ]
    assert rows[1][3] == "浦东店"  # the acting store of the first charge
    assert AuditEntry.objects.filter(action="export", subject_id=str(statements[2].pk)).exists()


def test_list_export_has_every_filtered_statement(chain, login, statements):
    # when
    response = login(chain.hq_admin).get(f"{URL}?period=day&export=xlsx", **EN)

    # then
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert len(rows) == 3
    assert sorted(r[10] for r in rows[1:]) == [-700, 1000]


def test_lines_show_the_card_number_of_the_card_transaction(chain, login, member_factory, monkeypatch):
    # given: a cross-store charge recorded as a card transaction of a real card
    from onecard.loyalty.models import CardTransaction
    from onecard.testing.settlement import Till, shanghai
    from onecard.testing.stored_value import sv_card

    member = member_factory(store=chain.a1)
    card = sv_card(chain, member)
    till = Till(monkeypatch, member, chain.a1)
    till.topup(chain.a1, 1000, shanghai(2026, 3, 9))
    entry = till.charge(chain.a2, 600, shanghai(2026, 3, 10, 9))
    CardTransaction.objects.create(
        kind="charge", card=card, member=member, store=chain.a2, amount=600, entry=entry
    )
    statement = settlement.build_statements("day", DAY1).created[0]

    # when
    html = login(chain.hq_admin).get(f"{URL}{statement.pk}/", **EN).content.decode()
    book = load_workbook(io.BytesIO(login(chain.hq_admin).get(f"{URL}{statement.pk}/export/").content))

    # then
    assert card.number in html
    assert list(book.worksheets[1].iter_rows(values_only=True))[1][4] == card.number


def test_merchant_pairs_are_seen_at_head_office_only(chain, login, member_factory, monkeypatch):
    # given
    partner, p1 = make_alliance_pair(chain, member_factory, monkeypatch)
    [statement] = settlement.build_statements("day", DAY1).created
    partner_hq = org_services.create_staff(
        None,
        username="partnerhq",
        password="pass-word-123",
        node=partner.nodes.get(parent__isnull=True),
        roles=[chain.roles["hq_admin"]],
    )

    # then
    for user, visible in [
        (chain.hq_admin, True),
        (partner_hq, True),
        (chain.region_manager, False),
        (chain.store_manager, False),
        (chain.other_manager, False),
    ]:
        client = login(user)
        html = client.get(URL, **EN).content.decode()
        assert (f'data-statement="{statement.pk}"' in html) is visible, user
        assert client.get(f"{URL}{statement.pk}/").status_code == (200 if visible else 404), user
    # the partner's head office may settle it as well
    response = login(partner_hq).post(f"{URL}{statement.pk}/settle/")
    assert response.status_code == 302
    statement.refresh_from_db()
    assert statement.status == StatementStatus.SETTLED
    assert clearing_balance(p1, chain.a1) == 0
