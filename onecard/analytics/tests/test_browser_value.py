"""In Chromium: the lifetime-value page draws its chart from the page's data, within the CSP."""

import pytest

from onecard.analytics.tests.test_clv import generated_sales
from onecard.analytics.value.services import fit_merchant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_value_page_draws_the_bands_chart(chain, member_factory, page, screenshot):
    """Given a fit of 48 members, when the A1 store manager opens the lifetime-value page, then the bands chart
    is drawn (a canvas in its box), the top list shows A1's 24 members, and no CSP violation is reported."""
    from playwright.sync_api import expect

    generated_sales(chain, member_factory)
    fit_merchant(chain.merchant)
    page.log_in("a1mgr")
    page.goto_path("/analytics/value/")
    expect(page.locator("#chart-value-bands canvas")).to_have_count(1)
    expect(page.locator("#value-top tbody tr")).to_have_count(24)
    expect(page.locator("#value-fit")).to_have_count(0)  # a store manager may not fit again
    screenshot("analytics-value")
