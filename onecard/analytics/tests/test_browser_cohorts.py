"""In Chromium: a store manager opens the cohort page; the heat map shows and the new/returning/lost chart is drawn
from the embedded figures by the static script, with no Content-Security-Policy violation."""

import datetime

import pytest
from django.utils import timezone

from onecard.analytics.models import MemberMonth
from onecard.members.models import Member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_cohort_page_draws_its_chart(chain, member_factory, page, screenshot):
    """Given three A1 members who joined last month and bought then and this month; when A1's manager opens
    the page; then the last cohort row shows 3 members, the chart has a canvas, and the console is clean."""
    from playwright.sync_api import expect

    this_month = timezone.localdate().replace(day=1)
    last_month = (this_month - datetime.timedelta(days=1)).replace(day=1)
    joined = timezone.make_aware(datetime.datetime.combine(last_month, datetime.time(10)))
    for _ in range(3):
        member = member_factory(store=chain.a1)
        Member.objects.filter(pk=member.pk).update(created_at=joined)
        for month in (last_month, this_month):
            MemberMonth.objects.create(member=member, merchant=chain.merchant, month=month, purchases=1,
                                       visits=1, spend=5000, last_visit_day=month)  # fmt: skip
    page.log_in("a1mgr")
    page.goto_path("/analytics/cohorts/")
    row = page.locator(f'tr[data-cohort="{last_month:%Y-%m}"]')
    expect(row.locator('td[data-k="0"]')).to_contain_text("100%")
    expect(row.locator('td[data-k="1"]')).to_contain_text("100%")
    expect(page.locator("#chart-flows canvas")).to_have_count(1)
    screenshot("analytics-cohorts")
    assert page.console_errors == []
