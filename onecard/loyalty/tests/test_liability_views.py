"""The prepaid-liability page /reports/liability/: figures per issuing store, scope, export."""

import io

import pytest
from openpyxl import load_workbook

from onecard.testing.cards import active_card, make_product, put_value, stock

pytestmark = pytest.mark.django_db
URL = "/reports/liability/"


@pytest.fixture
def balances(chain, member_factory):
    """Card issued at A1 with ¥600 principal, ¥50 bonus, 300 points; card issued at B1 with ¥100."""
    product = make_product(chain)
    a1_card = active_card(stock(product, chain.a1, count=1, prefix="8801")[0], member_factory())
    b1_card = active_card(stock(product, chain.b1, count=1, prefix="8802")[0], member_factory())
    put_value(chain, a1_card, principal=60_000, bonus=5_000, points=300)
    put_value(chain, b1_card, principal=10_000, store=chain.b1)
    return a1_card, b1_card


def test_hq_sees_every_issuing_store_and_the_merchant_total(chain, balances, login):
    # given: HQ staff; when: the page is opened in English
    response = login(chain.hq_admin).get(URL, HTTP_ACCEPT_LANGUAGE="en")
    # then: one row per issuing store and the merchant total of ¥750.00
    lines, totals = response.context["lines"], response.context["totals"]
    assert [(line.store, line.principal, line.bonus, line.points) for line in lines] == [
        (chain.a1.name, 60_000, 5_000, 300),
        (chain.b1.name, 10_000, 0, 0),
    ]
    assert [(t.total, t.points) for t in totals] == [(75_000, 300)]
    assert "¥650.00" in response.content.decode() and "¥750.00" in response.content.decode()


def test_a_store_manager_sees_only_the_stores_in_scope(chain, balances, login):
    # given: the manager of B1's region cannot see A1; when
    response = login(chain.cashier_b1).get(URL)
    # then
    assert response.status_code == 200
    assert [line.store for line in response.context["lines"]] == [chain.b1.name]
    assert [t.total for t in response.context["totals"]] == [10_000]


def test_export_is_an_xlsx_with_the_same_rows(chain, balances, login):
    # when
    response = login(chain.hq_admin).get(URL + "?export=xlsx", HTTP_ACCEPT_LANGUAGE="en")
    # then
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("Merchant", "Issuing store", "Principal (¥)")
    assert [(r[1], r[6], r[7]) for r in rows[1:]] == [(chain.a1.name, 650.0, 300), (chain.b1.name, 100.0, 0),
                                                      ("All stores", 750.0, 300)]  # fmt: skip


def test_without_cards_view_the_page_is_refused(chain, login, django_user_model):
    # given: a staff member without any role
    nobody = django_user_model.objects.create_user("nobody", password="x", node=chain.a1)
    # then
    assert login(nobody).get(URL).status_code == 403
