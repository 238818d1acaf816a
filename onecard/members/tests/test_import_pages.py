"""Member import (M7) as users see it: scope, downloads, the pages, the background run, size and concurrency."""

import io
from unittest import mock

import openpyxl
import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from onecard.core import background as core_background
from onecard.core.errors import PermissionDenied
from onecard.members import importing, tasks
from onecard.members.choices import ImportStatus
from onecard.members.models import ImportJob, Member
from onecard.testing.member_imports import HEADERS, ROWS, checked_job, csv_file, same_file, xlsx_file

pytestmark = pytest.mark.usefixtures("import_settings")


# ---- scope ---------------------------------------------------------------------------------------------


def test_a_store_manager_cannot_import_into_another_store(chain):
    # given the manager of A1 and a file naming A1 and B1 (B1 by code and by name)
    rows = [
        ["张三", "13800000001", "", "", "A1", "", ""],
        ["李四", "13800000002", "", "", "B1", "", ""],
        ["王五", "13800000003", "", "", "朝阳店", "", ""],
    ]
    # when
    job = checked_job(chain.store_manager, xlsx_file(rows))
    # then B1 is unknown to them
    assert [(e["row"], e["value"], e["message"][:14]) for e in job.errors] == [
        (3, "B1", "Unknown store:"),
        (4, "朝阳店", "Unknown store:"),
    ]
    # and B1 cannot be the default store either
    with pytest.raises(PermissionDenied):
        importing.create_import_job(chain.store_manager, xlsx_file(rows), default_store=chain.b1)


def test_a_region_manager_imports_into_stores_of_their_region(chain):
    rows = [["张三", "13800000001", "", "", "A2", "", ""], ["李四", "13800000002", "", "", "B1", "", ""]]
    job = checked_job(chain.region_manager, xlsx_file(rows))
    assert [(e["row"], e["column"]) for e in job.errors] == [(3, "门店编码")]


def test_staff_without_the_import_permission_get_403(chain, login):
    client = login(chain.cashier_a1)
    for url in (reverse("members:import"), reverse("members:import_template")):
        assert client.get(url).status_code == 403
    with pytest.raises(PermissionDenied):
        importing.create_import_job(chain.cashier_a1, xlsx_file([]))


def test_jobs_of_other_nodes_are_not_found(chain, login):
    # given an import made by HQ
    job = importing.create_import_job(chain.hq_admin, xlsx_file(ROWS))
    # then the manager of A1 and another merchant's manager cannot open it; HQ can
    for user in (chain.store_manager, chain.other_manager):
        client = login(user)
        assert client.get(reverse("members:import_detail", args=[job.pk])).status_code == 404
        assert client.get(reverse("members:import_errors", args=[job.pk])).status_code == 404
    assert login(chain.hq_admin).get(reverse("members:import_detail", args=[job.pk])).status_code == 200
    assert [j.pk for j in importing.recent_jobs(chain.store_manager)] == []
    assert [j.pk for j in importing.recent_jobs(chain.region_manager)] == []
    assert [j.pk for j in importing.recent_jobs(chain.hq_admin)] == [job.pk]


# ---- downloads -----------------------------------------------------------------------------------------


def read_xlsx(content):
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def test_error_report_holds_exactly_the_rows_with_errors(chain, tags, existing, login):
    # given a checked file with six bad rows
    job = checked_job(chain.region_manager, xlsx_file(ROWS))
    # when the user downloads the report
    response = login(chain.region_manager).get(reverse("members:import_errors", args=[job.pk]))
    # then
    assert response.status_code == 200
    assert response["Content-Type"] == importing_xlsx_type()
    rows = read_xlsx(response.content)
    assert rows[0] == [*HEADERS, "Row", "Errors"]
    assert [row[-2] for row in rows[1:]] == [3, 4, 5, 6, 8, 9]
    assert rows[1] == [*ROWS[1][:5], None, None, 3, "手机号: The phone number is not in a valid format."]
    assert rows[4][:2] == ["钱七", "138 0000 0001"]
    assert rows[4][-1] == "手机号: Duplicate of row 2 in this file."


def importing_xlsx_type():
    return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_error_report_keeps_formulas_as_text(chain):
    job = checked_job(chain.region_manager, csv_file([["=1+1", "1", "", "", "A1", "", ""]]))
    rows = read_xlsx(importing.error_report_xlsx(job))
    assert rows[1][0] == "=1+1"


def test_template_has_chinese_headers_and_an_example(chain, tags, login):
    response = login(chain.region_manager).get(reverse("members:import_template"))
    rows = read_xlsx(response.content)
    assert rows[0][:5] == ["姓名", "手机号", "性别", "生日", "门店编码"]
    assert rows[1][:5] == ["张三", "13800138000", "男", "1990-05-01", "A1"]
    # and the template itself imports cleanly
    upload = SimpleUploadedFile("template.xlsx", response.content)
    job = checked_job(chain.region_manager, upload)
    assert (job.valid_rows, job.error_rows) == (1, 0)


# ---- the pages -----------------------------------------------------------------------------------------


def test_page_flow_upload_map_check_confirm_progress(chain, tags, existing, login):
    client = login(chain.region_manager)
    # given the upload page
    page = client.get(reverse("members:import"), HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    assert b'name="default_store"' in page.content
    # when a file is uploaded
    response = client.post(reverse("members:import"), {"file": xlsx_file(ROWS), "default_store": chain.a1.pk})
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "members:import_detail", args=[job.pk]
    )
    # then the mapping is shown with the guessed fields
    detail = client.get(reverse("members:import_detail", args=[job.pk])).content.decode()
    assert '<option value="phone" selected>' in detail
    assert "13800000001" in detail  # first values
    # when the user checks the file with the guessed mapping
    form = {f"col_{i}": target for i, target in enumerate(job.mapping["columns"])}
    client.post(
        reverse("members:import_detail", args=[job.pk]),
        {**form, "default_store": chain.a1.pk, "action": "check"},
    )
    detail = client.get(reverse("members:import_detail", args=[job.pk])).content.decode()
    # then the counts, the errors and the confirm button are shown; nothing is imported yet
    assert "data-valid>2<" in detail and "data-errors>6<" in detail
    assert "Duplicate of row 2 in this file." in detail
    assert "Import 2 valid rows" in detail
    assert Member.objects.count() == 1
    # when the user confirms
    client.post(reverse("members:import_detail", args=[job.pk]), {"action": "confirm"})
    # then the progress shows the finished import
    progress = client.get(reverse("members:import_progress", args=[job.pk]), HTTP_HX_REQUEST="true")
    html = progress.content.decode()
    assert 'data-status="done"' in html and "hx-trigger" not in html
    assert "Done: 2 members imported." in html
    assert 'id="job-status" hx-swap-oob="true">Done<' in html  # the page's status badge follows
    assert Member.objects.count() == 3
    # and a second confirm shows a message instead of importing again
    response = client.post(
        reverse("members:import_detail", args=[job.pk]), {"action": "confirm"}, follow=True
    )
    assert "This import has already been started." in response.content.decode()
    assert Member.objects.count() == 3


def test_progress_polls_while_running(chain, login):
    # given an import that is running, with progress in the cache
    job = checked_job(chain.region_manager, xlsx_file([["张三", "13800000001", "", "", "A1", "", ""]]))
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING)
    importing.set_progress(job.pk, "importing", 500, 1000)
    # when
    html = login(chain.region_manager).get(reverse("members:import_progress", args=[job.pk])).content.decode()
    # then
    assert 'hx-trigger="every 1s"' in html
    assert 'style="width: 70%"' in html  # 40 % for the re-check + half of the remaining 60 %
    assert "Importing: 500 of 1" in html


def test_progress_reaches_web_processes_that_do_not_share_the_cache(chain):
    # given an import running in another gunicorn worker, whose LocMemCache this process cannot see
    job = checked_job(chain.region_manager, xlsx_file([["张三", "13800000001", "", "", "A1", "", ""]]))
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING)
    importing.set_progress(job.pk, "checking", 50, 100)
    cache.clear()
    # when / then the progress comes from the file under VAR_DIR
    assert importing.progress_of(job)["percent"] == 20
    # and once the import ends, the job row is what counts and the file is gone
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.VALIDATED)
    importing.start_import(chain.region_manager, job)
    assert importing.progress_of(job)["status"] == ImportStatus.DONE
    assert list(importing.progress_file(job.pk).parent.iterdir()) == []


def test_same_file_warning_on_the_page(chain, login):
    rows = [["张三", "13800000001", "", "", "A1", "", ""]]
    upload = xlsx_file(rows)
    first = checked_job(chain.region_manager, upload)
    importing.start_import(chain.region_manager, first)
    second = checked_job(chain.region_manager, same_file(upload))
    html = (
        login(chain.region_manager).get(reverse("members:import_detail", args=[second.pk])).content.decode()
    )
    assert "This same file was imported before" in html
    assert "There is no valid row to import." in html


def test_upload_errors_are_shown_on_the_form(chain, login):
    client = login(chain.region_manager)
    response = client.post(reverse("members:import"), {"file": SimpleUploadedFile("x.xls", b"old")})
    assert response.status_code == 200
    assert "Only .xlsx and .csv files can be imported" in response.content.decode()
    assert ImportJob.objects.count() == 0


# ---- background --------------------------------------------------------------------------------------------


def test_without_a_broker_the_import_runs_in_a_thread(chain, settings, django_capture_on_commit_callbacks):
    settings.ONECARD_RUN_INLINE = False
    settings.CELERY_TASK_ALWAYS_EAGER = True
    with (
        mock.patch.object(core_background.threading, "Thread") as thread,
        django_capture_on_commit_callbacks(execute=True),
    ):
        tasks.dispatch_import(7, 9)
    assert thread.call_args.kwargs["args"][2] == (7, 9)
    assert thread.call_args.kwargs["daemon"] is True
    thread.return_value.start.assert_called_once_with()


def test_with_a_broker_the_import_is_queued(chain, settings, django_capture_on_commit_callbacks):
    settings.ONECARD_RUN_INLINE = False
    settings.CELERY_TASK_ALWAYS_EAGER = False
    with (
        mock.patch.object(tasks.run_import_task, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        tasks.dispatch_import(7, 9)
    delay.assert_called_once_with(7, 9)


def test_a_redelivered_task_does_nothing(chain):
    job = checked_job(chain.region_manager, xlsx_file([["张三", "13800000001", "", "", "A1", "", ""]]))
    importing.start_import(chain.region_manager, job)
    tasks.run_import_task(job.pk, chain.region_manager.pk)
    assert Member.objects.count() == 1


# ---- size --------------------------------------------------------------------------------------------------


def test_checking_many_rows_takes_a_fixed_number_of_queries(chain, existing, django_assert_max_num_queries):
    # given 3,000 rows, one of them already a member
    rows = [[f"会员{i}", f"1370000{i:04d}", "", "", "A1", "", ""] for i in range(3000)]
    rows.append(["周九", "13912345678", "", "", "A1", "", ""])
    job = importing.create_import_job(chain.region_manager, csv_file(rows))
    # when / then: the database is asked in chunks of 900 phones, not once per row
    with django_assert_max_num_queries(15):
        result = importing.check_rows(job, chain.region_manager)
    assert (result.total, len(result.valid), result.error_rows) == (3001, 3000, 1)


# ---- concurrency (PostgreSQL) ----------------------------------------------------------------------------


def _in_threads(*functions):
    """Run the functions at the same time; returns what each returned or raised."""
    import threading

    from django.db import connections

    barrier = threading.Barrier(len(functions))
    results = [None] * len(functions)

    def run(i, fn):
        try:
            barrier.wait()
            results[i] = fn()
        except Exception as exc:
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(functions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_confirms_import_once(chain):
    # given a checked file
    rows = [[f"会员{i}", f"1370000{i:04d}", "", "", "A1", "", ""] for i in range(50)]
    job = checked_job(chain.region_manager, xlsx_file(rows))
    # when two confirms arrive at the same moment
    results = _in_threads(
        lambda: importing.start_import(chain.region_manager, ImportJob.objects.get(pk=job.pk)),
        lambda: importing.start_import(chain.region_manager, ImportJob.objects.get(pk=job.pk)),
    )
    # then one starts the import and the other is refused
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "ImportJob"]
    assert Member.objects.count() == 50


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_without_a_broker_the_request_returns_and_the_thread_imports(chain, settings):
    # given the default of a single shop: no broker, so no inline import
    settings.ONECARD_RUN_INLINE = False
    settings.CELERY_TASK_ALWAYS_EAGER = True
    rows = [[f"会员{i}", f"1370000{i:04d}", "", "", "A1", "", ""] for i in range(3000)]
    job = checked_job(chain.region_manager, xlsx_file(rows))
    # when the user confirms
    importing.start_import(chain.region_manager, job)
    # then the call returns at once and the import finishes in the background
    import time

    deadline = time.monotonic() + 60
    while importing.progress_of(job)["status"] == ImportStatus.RUNNING and time.monotonic() < deadline:
        time.sleep(0.2)
    assert importing.progress_of(job)["status"] == ImportStatus.DONE
    assert Member.objects.filter(import_job=job).count() == 3000
