"""The report builder's pages: building and saving, sharing with roles, export, print, pinning to the home page."""

import io

import pandas as pd
import pytest
from openpyxl import load_workbook

from onecard.analytics.models import SavedReport
from onecard.analytics.report_builder import services
from onecard.analytics.tests.report_builder_data import URL, make_sales, table
from onecard.core.errors import PermissionDenied
from onecard.core.models import AuditEntry

pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def sales(chain):
    return make_sales(chain)


def test_the_builder_runs_saves_and_the_saved_report_shows_the_same_figures(chain, login, sales):
    """Given the builder form grouping sales by store with the sum of amount due, when it runs and is saved,
    then the page and the saved report show each store's sum in yuan, as pandas computes them."""
    client = login(chain.hq_admin)
    params = {"dataset": "sales", "g0_field": "store", "a0_fn": "sum", "a0_field": "total_due", "run": "1"}

    page = client.get(f"{URL}new/", params)
    result = page.context["result"]
    saved = client.post(
        f"{URL}save/", {"name": "门店销售", "definition": page.context["definition_json"]}, follow=True
    )

    frame = pd.DataFrame(sales).groupby("store")["total_due"].sum()
    expected = {store: f"{total // 100}.{total % 100:02d}" for store, total in frame.items()}
    assert {row[0]: row[1] for row in (result.texts(r) for r in result.rows)} == expected
    html = saved.content.decode()
    report = SavedReport.objects.get()
    assert (report.owner, report.name, report.definition["group_by"]) == (
        chain.hq_admin,
        "门店销售",
        [{"field": "store", "trunc": ""}],
    )
    assert all(text in html for text in expected.values())
    assert AuditEntry.objects.filter(subject_type="analytics.savedreport", action="create").count() == 1


def test_a_cashier_cannot_open_the_builder(chain, login):
    """Given a cashier (no reports.build), when they open the builder, then it is refused (403)."""
    assert login(chain.cashier_a1).get(f"{URL}new/").status_code == 403


def test_a_report_shared_with_a_role_opens_for_that_role_only(chain, login, sales):
    """Given head office's report shared with the store-manager role, when A1's manager opens it, then it shows
    A1's sales only; the marketer (another role) cannot open it; sharing is only the owner's."""
    raw = {"dataset": "sales", "aggregates": [{"fn": "sum", "field": "total_due"}]}
    report = services.save_report(chain.hq_admin, chain.merchant, name="销售总额", definition=raw)
    services.share_report(chain.hq_admin, report, [chain.roles["store_manager"]])

    manager_page = login(chain.store_manager).get(f"{URL}{report.pk}/")
    manager_list = login(chain.store_manager).get(URL).content.decode()
    marketer_page = login(chain.marketer).get(f"{URL}{report.pk}/")

    a1_total = sum(s["total_due"] for s in sales if s["store"] == "徐汇店")
    assert manager_page.status_code == 200
    assert table(manager_page.context["result"]) == [(a1_total,)]
    assert "销售总额" in manager_list
    assert marketer_page.status_code == 404
    with pytest.raises(PermissionDenied):
        services.share_report(chain.store_manager, report, [chain.roles["marketer"]])
    with pytest.raises(PermissionDenied):
        services.delete_report(chain.store_manager, report)


def test_export_opens_with_openpyxl_and_holds_the_page_figures(chain, login, sales):
    """Given a saved report of sales by store, when exported, then the workbook opens with openpyxl, its header
    is the columns and its rows are each store's count and sum in yuan, as pandas computes them."""
    raw = {
        "dataset": "sales",
        "group_by": [{"field": "store"}],
        "aggregates": [{"fn": "count"}, {"fn": "sum", "field": "total_due"}],
    }
    report = services.save_report(chain.hq_admin, chain.merchant, name="门店", definition=raw)

    response = login(chain.hq_admin).get(f"{URL}{report.pk}/", {"export": "xlsx"})

    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    frame = pd.DataFrame(sales).groupby("store")["total_due"].agg(["size", "sum"]).sort_index()
    assert rows[0] == ("Store", "Count", "Sum of Amount due (¥)")
    assert rows[1:] == [(store, n, total / 100) for store, (n, total) in frame.iterrows()]
    assert AuditEntry.objects.filter(action="export", subject_type="analytics.savedreport").exists()


def test_the_print_view_lists_every_row(chain, login, sales):
    """Given a saved report listing sales, when printed, then all 61 references are on the page (no pages)."""
    report = services.save_report(
        chain.hq_admin, chain.merchant, name="明细", definition={"dataset": "sales", "fields": ["reference"]}
    )

    html = login(chain.hq_admin).get(f"{URL}{report.pk}/", {"print": "1"}).content.decode()

    assert all(f"T{n:04d}" in html for n in range(61))


def test_a_pinned_report_shows_on_the_home_page_of_its_owner_and_its_shared_roles(chain, login):
    """Given the marketer's report pinned and shared with store managers, when the marketer, A1's manager and
    the region manager open the home page, then the first two see it and the region manager does not."""
    report = services.save_report(
        chain.marketer,
        chain.merchant,
        name="会员RFM",
        definition={"dataset": "members", "group_by": ["rfm_class"]},
    )
    services.share_report(chain.marketer, report, [chain.roles["store_manager"]])
    services.pin_report(chain.marketer, report, True)

    homes = {
        user.username: login(user).get("/").content.decode()
        for user in (chain.marketer, chain.store_manager, chain.region_manager)
    }

    link = f'href="{URL}{report.pk}/"'
    assert link in homes["mkt"] and "Pinned reports" in homes["mkt"]
    assert link in homes["a1mgr"]
    assert link not in homes["eastmgr"]
    services.pin_report(chain.marketer, report, False)
    assert link not in login(chain.marketer).get("/").content.decode()


def test_pinning_sharing_and_deleting_through_the_pages(chain, login):
    """Given the marketer's saved report, when they pin it, share it with store managers and then delete it
    through the page's forms, then each change is stored and audited."""
    report = services.save_report(
        chain.marketer,
        chain.merchant,
        name="优惠券",
        definition={"dataset": "coupons", "aggregates": [{"fn": "count"}]},
    )
    client = login(chain.marketer)

    client.post(f"{URL}{report.pk}/pin/", {"pinned": "1"})
    client.post(f"{URL}{report.pk}/share/", {"roles": [chain.roles["store_manager"].pk]})
    report.refresh_from_db()
    pinned, shared = report.pinned, list(report.shared_with_roles.all())
    client.post(f"{URL}{report.pk}/delete/")

    assert pinned is True and shared == [chain.roles["store_manager"]]
    assert not SavedReport.objects.exists()
    actions = list(
        AuditEntry.objects.filter(subject_type="analytics.savedreport").values_list("action", flat=True)
    )
    assert sorted(actions) == ["create", "delete", "update", "update"]


def test_a_row_limit_with_a_sort_lists_the_largest_sales_on_the_page(chain, login, sales):
    """Given the sales, when the builder lists reference and amount due, largest first, at most 5 rows, then the
    page holds exactly the 5 largest sales as pandas picks them, amounts in yuan."""
    params = {
        "dataset": "sales",
        "fields": ["reference", "total_due"],
        "order": "total_due",
        "desc": "1",
        "limit": "5",
        "run": "1",
    }

    page = login(chain.hq_admin).get(f"{URL}new/", params)

    top = pd.DataFrame(sales).nlargest(5, "total_due")
    expected = [
        [s.business_ref, f"{d // 100}.{d % 100:02d}"]
        for s, d in zip(top["sale"], top["total_due"], strict=True)
    ]
    assert page.context["page"].paginator.count == 5
    assert [[cell for _column, cell in row] for row in page.context["rows"]] == expected
