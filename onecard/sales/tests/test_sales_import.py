"""Historical sales import (issue 11): the dry run, the all-or-nothing import, what an imported sale is, the
rows imported before, scope, the signal, and takings that leave imported sales out."""

import datetime
import io
from unittest import mock
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone

from onecard.catalog import services as catalog
from onecard.catalog.models import Product
from onecard.core import background as core_background
from onecard.core.errors import BusinessError, Conflict, PermissionDenied
from onecard.core.models import AuditEntry
from onecard.loyalty.models import CardTransaction, JournalEntry
from onecard.members.choices import ImportStatus
from onecard.org import services as org
from onecard.org.permissions import BUILTIN_ROLES
from onecard.pos.shift_takings import Window, takings
from onecard.sales import checkout, importing, tasks
from onecard.sales.models import InvoiceFact, Sale, SaleImport, SaleLine, SaleTender
from onecard.sales.queries import checkout_sales
from onecard.sales.signals import sales_imported
from onecard.testing.member_imports import csv_file, same_file, xlsx_file
from onecard.testing.stored_value import assert_ledger_clean

pytestmark = pytest.mark.usefixtures("import_settings")
SHANGHAI = ZoneInfo("Asia/Shanghai")
HEADERS = ["会员号", "手机号", "消费时间", "金额", "数量", "门店编码", "商品"]
# Row 2: member by number, two products (¥68.50 shared 6000 : 500 by list price); row 3: member by phone,
# store by name, a date without a time, no items (one line of 3 units); row 4: both keys, an SKU in
# lower case.
ROWS = [
    ["10000001", "", "2024-03-05 14:30", "68.50", "", "A1", "CAKE-1×2; TEA-1"],
    ["", "13800000002", "2023-12-31", "120", "3", "朝阳店", ""],
    ["10000002", "138 0000 0002", "2024/1/2 9:05", "5", "", "B1", "tea-1"],
]
# (reference row, member no., store, local time, amount due, [(sku, name, units, due)])
EXPECTED_SALES = [
    (
        2,
        "10000001",
        "A1",
        "2024-03-05 14:30",
        6850,
        [("CAKE-1", "蛋糕", 2, 6323), ("TEA-1", "乌龙茶", 1, 527)],
    ),
    (3, "10000002", "B1", "2023-12-31 00:00", 12000, [("", "历史消费", 3, 12000)]),
    (4, "10000002", "B1", "2024-01-02 09:05", 500, [("TEA-1", "乌龙茶", 1, 500)]),
]


@pytest.fixture
def history(chain, member_factory):
    """CAKE-1 ¥30 and TEA-1 ¥5; member 10000001 (13800000001, A1) and 10000002 (13800000002, B1)."""
    catalog.create_product(None, chain.merchant, sku="CAKE-1", name="蛋糕", list_price=3000)
    catalog.create_product(None, chain.merchant, sku="TEA-1", name="乌龙茶", list_price=500)
    return [member_factory(name="张三"), member_factory(name="李四", store=chain.b1)]


def checked(actor, upload, merchant):
    job = importing.create_import_job(actor, merchant, upload)
    importing.check_import(actor, job)
    job.refresh_from_db()
    return job


def imported(actor, upload, merchant):
    job = checked(actor, upload, merchant)
    importing.start_import(actor, job)
    job.refresh_from_db()
    return job


def sales_as_in_the_file(job):
    """The import's sales as EXPECTED_SALES lists them."""
    rows = []
    for sale in Sale.objects.filter(business_ref__startswith=f"import:{job.pk}:").order_by("pk"):
        lines = [(x.sku, x.name, x.quantity, x.due) for x in sale.lines.order_by("pk")]
        rows.append(
            (
                int(sale.business_ref.rsplit(":", 1)[1]),
                sale.member.member_no,
                sale.store.code,
                timezone.localtime(sale.created_at, SHANGHAI).strftime("%Y-%m-%d %H:%M"),
                sale.total_due,
                lines,
            )
        )
    return rows


def read_xlsx(content):
    return [
        list(row) for row in openpyxl.load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True)
    ]


def importer_at(store, chain):
    """A store manager of `store` who may also import sales (the built-in store manager may not)."""
    role = org.create_role(
        None,
        merchant=chain.merchant,
        name="店长（导入）",
        permissions=[*BUILTIN_ROLES["store_manager"][1], "sales.import"],
    )
    return org.create_staff(
        None, username=f"imp{store.code}", password="pass-word-123", node=store, roles=[role]
    )


# ---- the import --------------------------------------------------------------------------------------------


def test_a_good_file_imports_every_row_as_in_the_file_and_moves_no_money(chain, history):
    # given a file of three sales, and the ledger as it stands
    entries, card_transactions = JournalEntry.objects.count(), CardTransaction.objects.count()
    # when HQ imports it
    job = imported(chain.hq_admin, xlsx_file(ROWS, HEADERS, "sales.xlsx"), chain.merchant)
    # then every row is a sale of its member, store, time, amount and items
    assert (job.status, job.imported_rows, job.imported_amount) == (ImportStatus.DONE, 3, 6850 + 12000 + 500)
    assert sales_as_in_the_file(job) == EXPECTED_SALES
    sales = list(Sale.objects.filter(kind="imported"))
    assert {(s.card_id, s.actor_id, s.discount_total, s.points_earned) for s in sales} == {
        (None, chain.hq_admin.pk, 0, 0)
    }
    assert all(s.list_total == s.total_due for s in sales)
    assert all(line.list_total == line.due for line in SaleLine.objects.all())
    # and no money moved: no tender, invoice fact, card transaction or journal entry; the ledger verifies
    assert not SaleTender.objects.exists() and not InvoiceFact.objects.exists()
    assert (JournalEntry.objects.count(), CardTransaction.objects.count()) == (entries, card_transactions)
    assert_ledger_clean()
    # and one audit row tells who imported what
    entry = AuditEntry.objects.get(action="import", subject_id=str(job.pk))
    assert entry.after["imported_rows"] == 3 and entry.actor == chain.hq_admin


def test_the_dry_run_writes_no_sale(chain, history):
    # when the file is only checked
    job = checked(chain.hq_admin, xlsx_file(ROWS, HEADERS, "sales.xlsx"), chain.merchant)
    # then the job knows what it would import, and no sale or line exists
    assert (job.status, job.total_rows, job.valid_rows, job.error_rows, job.skipped_rows) == (
        ImportStatus.VALIDATED, 3, 3, 0, 0
    )  # fmt: skip
    assert (Sale.objects.count(), SaleLine.objects.count()) == (0, 0)


def test_one_bad_row_makes_the_import_write_nothing_and_the_report_names_row_and_column(chain, history):
    # given a file whose third row names an unknown SKU and whose fourth has an amount with three decimals
    rows = [
        ROWS[0],
        ["10000001", "", "2024-03-06 10:00", "30", "", "A1", "NOPE-9×1"],
        [*ROWS[2][:3], "5.005", *ROWS[2][4:]],
    ]
    job = checked(chain.hq_admin, xlsx_file(rows, HEADERS, "sales.xlsx"), chain.merchant)
    # then the check names each row and column
    assert job.errors == [
        {"row": 3, "column": "商品", "value": "NOPE-9×1", "message": "Unknown SKU: NOPE-9."},
        {
            "row": 4,
            "column": "金额",
            "value": "5.005",
            "message": "Write the amount in yuan with at most two decimals, e.g. 68.50.",
        },
    ]
    assert (job.valid_rows, job.error_rows) == (1, 2)
    # and the import is refused whole: not even the good row is written
    with pytest.raises(BusinessError):
        importing.start_import(chain.hq_admin, job)
    assert not Sale.objects.exists()
    # and the downloadable report holds the two rows with their number and problem
    report = read_xlsx(importing.error_report_xlsx(job))
    assert report[0][-2:] == ["Row", "Problems"]
    assert [(r[-2], r[-1]) for r in report[1:]] == [
        (3, "商品: Unknown SKU: NOPE-9."),
        (4, "金额: Write the amount in yuan with at most two decimals, e.g. 68.50."),
    ]


def test_a_row_that_goes_bad_before_the_import_runs_stops_every_row(chain, history):
    # given a checked file without errors, then TEA-1 renamed in the catalogue before the user confirms
    job = checked(chain.hq_admin, xlsx_file(ROWS, HEADERS, "sales.xlsx"), chain.merchant)
    assert job.error_rows == 0
    tea = Product.objects.get(merchant=chain.merchant, sku="TEA-1")
    catalog.update_product(chain.hq_admin, tea, sku="TEA-2")
    # when the import runs
    importing.start_import(chain.hq_admin, job)
    # then nothing is written and the job names the rows that went bad
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED
    assert job.message.startswith("The import failed and nothing was imported: 2 rows have errors.")
    assert [(e["row"], e["column"], e["message"]) for e in job.errors] == [
        (2, "商品", "Unknown SKU: TEA-1."),
        (4, "商品", "Unknown SKU: tea-1."),
    ]
    assert not Sale.objects.exists() and not SaleLine.objects.exists()


def test_a_second_import_of_the_same_file_adds_nothing(chain, history):
    # given a file with the same purchase twice (two coffees bought the same day), imported once
    rows = [*ROWS, ROWS[1]]
    upload = xlsx_file(rows, HEADERS, "sales.xlsx")
    first = imported(chain.hq_admin, upload, chain.merchant)
    assert first.imported_rows == 4
    # when the same file is checked and imported again
    second = checked(chain.hq_admin, same_file(upload), chain.merchant)
    # then every row is reported as imported before, and importing adds nothing
    assert (second.valid_rows, second.skipped_rows, second.error_rows) == (0, 4, 0)
    assert [s["row"] for s in second.skipped] == [2, 3, 4, 5]
    assert second.skipped[0]["message"] == (
        "Imported before (the same member, time 2024-03-05 14:30, amount ¥68.50 and store); skipped."
    )
    assert list(importing.earlier_imports_of_same_file(second)) == [first]
    importing.start_import(chain.hq_admin, second)
    second.refresh_from_db()
    assert (second.status, second.imported_rows) == (ImportStatus.DONE, 0)
    assert Sale.objects.count() == 4
    # and a file that adds one new row imports only that row
    third = imported(
        chain.hq_admin,
        xlsx_file([*rows, ["10000001", "", "2024-03-07 08:00", "30", "", "A1", ""]], HEADERS, "more.xlsx"),
        chain.merchant,
    )
    assert (third.imported_rows, third.skipped_rows) == (1, 4)
    assert Sale.objects.count() == 5


@pytest.mark.parametrize(
    "upload",
    [
        lambda: csv_file(ROWS, HEADERS, name="sales.csv"),
        lambda: csv_file(ROWS, HEADERS, encoding="gbk", name="sales-gbk.csv"),
        lambda: xlsx_file(ROWS, HEADERS, "sales.xlsx"),
        # Excel's own cells: times as datetimes, amounts and member numbers as numbers
        lambda: xlsx_file(
            [
                [
                    10000001,
                    None,
                    datetime.datetime(2024, 3, 5, 14, 29, 59, 999_000),
                    68.5,
                    None,
                    "A1",
                    "CAKE-1×2; TEA-1",
                ],
                [None, 13800000002, datetime.datetime(2023, 12, 31), 120, 3, "朝阳店", None],
                [10000002, "138 0000 0002", datetime.datetime(2024, 1, 2, 9, 5), 5, None, "B1", "tea-1"],
            ],
            HEADERS,
            "excel.xlsx",
        ),
    ],
    ids=["csv-utf8", "csv-gbk", "xlsx-text", "xlsx-cells"],
)
def test_csv_and_xlsx_import_alike(chain, history, upload):
    job = imported(chain.hq_admin, upload(), chain.merchant)
    assert job.errors == []
    assert sales_as_in_the_file(job) == EXPECTED_SALES


def test_a_file_without_the_needed_columns_is_refused_at_upload(chain, history):
    with pytest.raises(BusinessError) as refused:
        importing.create_import_job(
            chain.hq_admin, chain.merchant, xlsx_file([["x"]], ["姓名", "金额"], "a.xlsx")
        )
    assert refused.value.message == (
        "The file has no column for: Member no. or phone、Date、Store. Use the column names of the template."
    )


def test_rows_name_their_member_time_and_quantity_problems(chain, history):
    rows = [
        ["99999999", "", "2024-03-05", "10", "", "A1", ""],
        ["", "13911112222", "2024-02-30", "10", "", "A1", ""],
        ["10000001", "13800000002", "2099-01-01", "-3", "0", "A1", "CAKE-1×2"],
        ["", "", "", "", "", "", ""],  # blank rows are skipped but keep their numbers
        ["", "", "2024-03-05", "10", "2", "A9", "CAKE-1×3"],
    ]
    job = checked(chain.hq_admin, xlsx_file(rows, HEADERS, "bad.xlsx"), chain.merchant)
    assert [(e["row"], e["column"], e["message"]) for e in job.errors] == [
        (2, "会员号", "No member has this member no."),
        (3, "手机号", "No member has this phone number."),
        (3, "消费时间", "This date or time does not exist."),
        (4, "手机号", "The member no. and the phone belong to different members."),
        (4, "消费时间", "The time is in the future."),
        (4, "金额", "The amount must be more than 0 (returns cannot be imported)."),
        (4, "数量", "The quantity must be a whole number from 1 to 100000."),
        (6, "会员号", "Fill in the member no. or the phone."),
        (6, "数量", "The quantity differs from the items' units (3)."),
        (6, "门店编码", "Unknown store: no store with this code or name in your part of the organisation."),
    ]


def test_the_amount_is_shared_among_the_items_by_list_price_to_the_fen():
    class P:
        def __init__(self, price):
            self.list_price = price

    assert importing.split_due(6850, [(P(3000), 2), (P(500), 1)]) == [6323, 527]
    assert importing.split_due(100, [(P(100), 1), (P(100), 1), (P(100), 1)]) == [33, 33, 34]
    assert importing.split_due(1, [(P(999), 1), (P(1), 1)]) == [0, 1]


# ---- who may import what ------------------------------------------------------------------------------------


def test_a_store_manager_cannot_import_into_another_store(chain, history):
    # given A1's manager with the import permission, and a file naming A1, B1 by code and B1 by name
    manager = importer_at(chain.a1, chain)
    rows = [ROWS[0], ROWS[1], ROWS[2]]
    # when they check it
    job = checked(manager, xlsx_file(rows, HEADERS, "sales.xlsx"), chain.merchant)
    # then B1 is unknown to them, and nothing can be imported
    assert [(e["row"], e["column"], e["value"], e["message"][:14]) for e in job.errors] == [
        (3, "门店编码", "朝阳店", "Unknown store:"),
        (4, "门店编码", "B1", "Unknown store:"),
    ]
    with pytest.raises(BusinessError):
        importing.start_import(manager, job)
    assert not Sale.objects.exists()
    # and the A1 row alone imports
    alone = imported(manager, xlsx_file([ROWS[0]], HEADERS, "a1.xlsx"), chain.merchant)
    assert [s.store for s in Sale.objects.filter(business_ref__startswith=f"import:{alone.pk}:")] == [
        chain.a1
    ]


def test_imports_of_other_nodes_and_merchants_are_out_of_reach(chain, history, login):
    job = checked(chain.hq_admin, xlsx_file(ROWS, HEADERS, "sales.xlsx"), chain.merchant)
    manager = importer_at(chain.a1, chain)
    assert list(importing.recent_jobs(manager)) == []
    assert login(manager).get(reverse("sales_import:detail", args=[job.pk])).status_code == 404
    with pytest.raises(PermissionDenied):
        importing.create_import_job(manager, chain.other, xlsx_file(ROWS, HEADERS, "sales.xlsx"))
    with pytest.raises(PermissionDenied):
        importing.create_import_job(
            chain.store_manager, chain.merchant, xlsx_file(ROWS, HEADERS, "sales.xlsx")
        )
    for url in (reverse("sales_import:start"), reverse("sales_import:template")):
        assert login(chain.cashier_a1).get(url).status_code == 403


# ---- what the rest of the system sees -----------------------------------------------------------------------


def test_the_import_announces_its_members_inside_its_transaction(chain, history):
    heard = []

    def receiver(sender, merchant_id, member_ids, **kwargs):
        heard.append((merchant_id, set(member_ids), Sale.objects.filter(kind="imported").count()))

    sales_imported.connect(receiver)
    try:
        job = checked(chain.hq_admin, xlsx_file(ROWS, HEADERS, "sales.xlsx"), chain.merchant)
        assert heard == []  # the dry run says nothing
        importing.start_import(chain.hq_admin, job)
    finally:
        sales_imported.disconnect(receiver)
    assert heard == [(chain.merchant.pk, {history[0].pk, history[1].pk}, 3)]


def test_a_receiver_that_fails_undoes_the_import(chain, history):
    def receiver(sender, **kwargs):
        raise RuntimeError("analytics down")

    sales_imported.connect(receiver)
    try:
        job = imported(chain.hq_admin, xlsx_file(ROWS, HEADERS, "sales.xlsx"), chain.merchant)
    finally:
        sales_imported.disconnect(receiver)
    assert (job.status, job.message) == (
        ImportStatus.FAILED,
        "The import failed and nothing was imported: analytics down",
    )
    assert not Sale.objects.exists()


def test_imported_sales_are_left_out_of_the_takings(chain, shop):
    # given a ¥30 cash checkout at A1 by its cashier, and the day's takings
    checkout.checkout(
        chain.cashier_a1,
        store=chain.a1,
        card=shop.card,
        items=[("CAKE-1", 1)],
        tenders={"cash": 3000},
        business_ref="S-1",
    )
    now = timezone.now()
    window = Window(
        store_id=chain.a1.pk, start=now - datetime.timedelta(days=2), end=now + datetime.timedelta(hours=1)
    )
    before = takings(window).as_data()
    # when a ¥99 sale of an hour ago at A1 is imported for the same member
    earlier = timezone.localtime(now - datetime.timedelta(hours=1), SHANGHAI).strftime("%Y-%m-%d %H:%M")
    job = imported(
        chain.hq_admin,
        xlsx_file([["", "13912345678", earlier, "99", "", "A1", "CAKE-1"]], HEADERS, "s.xlsx"),
        chain.merchant,
    )
    assert job.imported_rows == 1
    # then the store's takings, the cashier's and the till's list of sales are as they were
    assert takings(window).as_data() == before
    assert before["counts"]["sales"] == 1 and before["rows"][0]["sales"] == 3000
    cashier_window = Window(chain.a1.pk, window.start, window.end, chain.hq_admin.pk)
    assert takings(cashier_window).is_empty
    assert list(checkout_sales().values_list("business_ref", flat=True)) == ["S-1"]
    # and the invoice facts count only the checkout
    assert list(InvoiceFact.objects.values_list("sale__business_ref", flat=True)) == ["S-1"]


# ---- pages ------------------------------------------------------------------------------------------------------


def test_upload_page_checks_the_file_and_the_member_page_marks_imported_sales(chain, history, login):
    client = login(chain.hq_admin)
    upload = xlsx_file(ROWS, HEADERS, "sales.xlsx")
    response = client.post(reverse("sales_import:start"), {"file": upload})
    job = importing.visible_jobs(chain.hq_admin).get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "sales_import:detail", args=[job.pk]
    )
    page = client.get(response["Location"]).content.decode()
    assert "data-valid>3<" in page and 'id="confirm-form"' in page
    assert not Sale.objects.exists()
    response = client.post(reverse("sales_import:detail", args=[job.pk]), {"action": "confirm"})
    assert response.status_code == 302 and Sale.objects.count() == 3
    assert (
        "Done: 3 sales imported."
        in client.get(reverse("sales_import:progress", args=[job.pk])).content.decode()
    )
    member_page = client.get(reverse("members:detail", args=[history[0].pk])).content.decode()
    assert "data-imported" in member_page and "蛋糕" in member_page


def test_a_page_with_errors_offers_the_report_and_no_import(chain, history, login):
    client = login(chain.hq_admin)
    rows = [ROWS[0], ["10000001", "", "2024-03-06", "30", "", "A1", "NOPE-9"]]
    response = client.post(reverse("sales_import:start"), {"file": xlsx_file(rows, HEADERS, "bad.xlsx")})
    page = client.get(response["Location"]).content.decode()
    assert "data-blocked" in page and 'id="confirm-form"' not in page
    assert "Unknown SKU: NOPE-9." in page
    job = importing.visible_jobs(chain.hq_admin).get()
    report = client.get(reverse("sales_import:errors", args=[job.pk]))
    assert report.status_code == 200
    assert [r[-2:] for r in read_xlsx(report.content)[1:]] == [[3, "商品: Unknown SKU: NOPE-9."]]


def test_the_template_has_the_columns_and_an_example_row_that_imports(chain, history, login):
    content = login(chain.hq_admin).get(reverse("sales_import:template")).content
    header, example = read_xlsx(content)[:2]
    assert header == ["会员号", "手机号", "消费时间", "金额", "数量", "门店编码", "商品"]
    assert example == ["10000001", None, "2025-03-08 14:30", "68.50", "3", "A1", "CAKE-1×2; TEA-1×1"]
    # and the template, as downloaded, imports its example row
    job = imported(chain.hq_admin, xlsx_file([example], header, "template.xlsx"), chain.merchant)
    assert (job.errors, job.imported_rows) == ([], 1)


# ---- background, progress, size ---------------------------------------------------------------------------------


def test_with_a_broker_the_import_is_queued_after_commit(db, settings, django_capture_on_commit_callbacks):
    settings.ONECARD_RUN_INLINE = False
    settings.CELERY_TASK_ALWAYS_EAGER = False
    with mock.patch.object(tasks.run_import_task, "delay") as delay:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            tasks.dispatch_import(7, 9)
        delay.assert_not_called()  # not before the confirming transaction commits
        for callback in callbacks:
            callback()
    delay.assert_called_once_with(7, 9)


def test_without_a_broker_the_import_runs_in_a_thread(db, settings, django_capture_on_commit_callbacks):
    settings.ONECARD_RUN_INLINE = False
    settings.CELERY_TASK_ALWAYS_EAGER = True
    with (
        mock.patch.object(core_background.threading, "Thread") as thread,
        django_capture_on_commit_callbacks(execute=True),
    ):
        tasks.dispatch_import(7, 9)
    assert thread.call_args.kwargs["args"][2] == (7, 9)
    thread.return_value.start.assert_called_once_with()


def test_a_second_confirm_or_a_redelivered_task_imports_once(chain, history):
    job = imported(chain.hq_admin, xlsx_file(ROWS, HEADERS, "sales.xlsx"), chain.merchant)
    with pytest.raises(Conflict):
        importing.start_import(chain.hq_admin, job)
    tasks.run_import_task(job.pk, chain.hq_admin.pk)
    assert Sale.objects.count() == 3


def test_progress_polls_while_running(chain, history, login):
    # given an import that is running, half-way through its writes
    job = checked(chain.hq_admin, xlsx_file(ROWS, HEADERS, "sales.xlsx"), chain.merchant)
    SaleImport.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING)
    importing.set_progress(job.pk, "importing", 500, 1000)
    # when the page polls
    html = login(chain.hq_admin).get(reverse("sales_import:progress", args=[job.pk])).content.decode()
    # then it shows 40 % for the check plus half of the remaining 60 %, and polls again
    assert 'hx-trigger="every 1s"' in html and 'style="width: 70%"' in html
    assert "Importing: 500 of 1,000 sales…" in html


def test_a_large_file_is_checked_and_written_in_a_bounded_number_of_queries(
    chain, history, django_assert_max_num_queries
):
    # given 3,000 sales of the two members, half with items
    rows = [
        [
            f"1000000{1 + i % 2}",
            "",
            f"2024-01-01 {i // 60 % 24:02d}:{i % 60:02d}",
            "30",
            "",
            "A1",
            "CAKE-1" if i % 2 else "",
        ]
        for i in range(3000)
    ]
    job = importing.create_import_job(chain.hq_admin, chain.merchant, csv_file(rows, HEADERS, name="big.csv"))
    # when / then: the check asks the database in chunks, not once per row
    with django_assert_max_num_queries(12):
        result = importing.check_rows(job, chain.hq_admin)
    assert (result.total, len(result.rows), result.error_rows) == (3000, 3000, 0)
    # and the import writes in batches
    importing.check_import(chain.hq_admin, job)
    with django_assert_max_num_queries(200):
        importing.start_import(chain.hq_admin, job)
    job.refresh_from_db()
    assert (job.status, job.imported_rows, job.imported_amount) == (ImportStatus.DONE, 3000, 3000 * 3000)
    assert SaleLine.objects.filter(sku="CAKE-1").count() == 1500
    assert SaleLine.objects.filter(name="历史消费").count() == 1500
