"""In Chromium: the store dashboard draws every chart under the Content-Security-Policy, a click on a day's
takings opens that day's sales, and the cashier's dashboard draws their own figures."""

import pytest

from onecard.analytics.tests.dashboard_data import generate

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The pixel at the middle of the bar of category `index` of the first series of the takings chart.
BAR_CENTRE = """([index]) => {
  const chart = echarts.getInstanceByDom(document.getElementById("chart-takings"));
  const option = chart.getOption();
  const value = option.series.find(s => s.data[index] !== "-").data[index];
  const top = chart.convertToPixel({xAxisIndex: 0, yAxisIndex: 0}, [index, value]);
  const bottom = chart.convertToPixel({xAxisIndex: 0, yAxisIndex: 0}, [index, 0]);
  const box = chart.getDom().getBoundingClientRect();
  return [box.left + top[0], box.top + (top[1] + bottom[1]) / 2];
}"""


def _charts_drawn(page):
    """Waits until every chart box holds a canvas; their names."""
    page.wait_for_function(
        "[...document.querySelectorAll('[data-chart]')].every(el => el.querySelector('canvas'))"
    )
    return page.eval_on_selector_all("[data-chart]", "els => els.map(el => el.dataset.chart)")


def test_store_dashboard_draws_and_drills_down_to_a_days_sales(chain, member_factory, page, screenshot):
    from onecard.analytics.dashboards import queries as dashboards

    # given generated sales at every store, and the A1 manager's takings by day
    generate(chain, member_factory)
    scope = dashboards.DashboardScope.for_user(chain.store_manager, chain.merchant)
    takings = dashboards.takings_by_period(scope, dashboards.Period.last("30d"))
    best = max(range(len(takings.keys) - 1), key=lambda i: takings.series[0].values[i])

    # when the A1 manager opens the dashboard
    page.log_in("a1mgr")
    page.goto_path("/analytics/dashboards/")

    # then every chart is drawn on a canvas, with no console error
    names = _charts_drawn(page)
    assert names == ["takings", "tenders", "stores", "topups", "liability", "points", "members", "rfm", "tiers",
                     "stages", "products", "categories"]  # fmt: skip
    assert page.console_errors == []
    # and the partial day is its own series, named so in the legend
    legend = page.evaluate(
        "echarts.getInstanceByDom(document.getElementById('chart-takings')).getOption().series.map(s => s.name)"
    )
    assert legend[-1] in ("partial: not over yet", "未结束"), legend
    screenshot("dashboard-store")

    # when they click the bar of the day with the most takings
    x, y = page.evaluate(BAR_CENTRE, [best])
    page.mouse.click(x, y)
    page.wait_for_url(f"**/analytics/dashboards/lists/sales/**bucket={takings.keys[best]}*")

    # then that day's sales of A1 are listed
    table = page.locator("table[data-table=sales]")
    rows = table.locator("tbody tr")
    assert rows.count() > 0
    for text in rows.all_inner_texts():
        assert text.startswith(takings.keys[best]) and chain.a1.name in text
    assert page.console_errors == []
    screenshot("dashboard-drilldown-sales")

    # when the dashboard is printed
    page.go_back()
    _charts_drawn(page)
    page.emulate_media(media="print")
    # then the menu is gone, and each chart is on paper with its table of figures
    assert not page.locator(".sidebar").is_visible()
    assert page.locator("table[data-table=takings]").is_visible()
    assert page.locator("#chart-takings canvas").is_visible()
    page.pdf(path=str(screenshot("dashboard-store-print")).replace(".png", ".pdf"), format="A4")


def test_cashier_dashboard_draws_their_own_sales(chain, member_factory, page, screenshot):
    # given generated sales, some made by the A1 cashier
    generate(chain, member_factory, count=60)
    # when the cashier opens the dashboard
    page.log_in("a1cash")
    page.goto_path("/analytics/dashboards/")
    # then their five charts are drawn, with no console error
    assert _charts_drawn(page) == ["takings", "tenders", "topups", "products", "categories"]
    assert page.console_errors == []
    screenshot("dashboard-cashier")
