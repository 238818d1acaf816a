"""The invoice facts report (/reports/invoices/): per store, scoped, exported."""

import pytest

from onecard.loyalty.stored_value import services as stored_value
from onecard.sales import services as sales

pytestmark = pytest.mark.usefixtures("english")
URL = "/reports/invoices/"


def test_the_report_sums_601_and_goods_per_store_in_scope(chain, login, card):
    # given a ¥500 top-up and a ¥120 charge at A1
    stored_value.topup(chain.cashier_a1, card, 50000, store=chain.a1, tender="cash")
    sales.charge_card(chain.cashier_a1, card, 12000, store=chain.a1)
    # when A1's manager reads the report
    response = login(chain.store_manager).get(URL)
    # then A1's line: ¥500 under 601, nothing of the sale invoiced, ¥120 paid with stored value
    (line,) = response.context["report"].lines
    assert (line.store, line.topups, line.prepaid_net, line.sales, line.stored_value) == (
        chain.a1,
        50000,
        50000,
        0,
        12000,
    )
    assert b'data-figure="prepaid-net">\xc2\xa5500.00' in response.content
    # and B1's manager sees no line of A1
    assert login(chain.other_manager).get(URL).context["report"].lines == []


def test_the_report_needs_invoices_view_and_exports_xlsx(chain, login, card):
    stored_value.topup(chain.cashier_a1, card, 10000, store=chain.a1)
    assert login(chain.cashier_a1).get(URL).status_code == 403
    response = login(chain.hq_admin).get(URL + "?export=xlsx")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert response["Content-Disposition"].startswith('attachment; filename="invoices-acme-')
