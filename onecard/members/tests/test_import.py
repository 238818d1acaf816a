"""Member import (M7): file reading, the dry run's error report, the one-transaction import, pages, scoping."""

import csv
import datetime
import io
from unittest import mock

import openpyxl
import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from onecard.core.errors import BusinessError, Conflict, PermissionDenied
from onecard.core.models import AuditEntry
from onecard.members import importing, labels, services, tasks
from onecard.members.choices import FieldType, ImportStatus, Source
from onecard.members.importing import background
from onecard.members.models import ConsentRecord, ImportJob, Member

HEADERS = ["姓名", "手机号", "性别", "生日", "门店编码", "标签", "备注"]
# Rows 2 and 7 are good; every other row has exactly the problems listed in EXPECTED_ERRORS.
ROWS = [
    ["张三", "13800000001", "男", "1990-05-01", "A1", "VIP", "老客户"],
    ["李四", "12345", "女", "1991-01-01", "A1", "", ""],
    ["王五", "13800000003", "", "1990-13-40", "A2", "", ""],
    ["赵六", "13800000004", "", "", "Z9", "", ""],
    ["钱七", "138 0000 0001", "", "", "A1", "", ""],
    ["孙八", "13800000006", "女", "1985/7/8", "浦东店", "VIP、敏感肌", ""],
    ["周九", "13912345678", "", "", "A1", "", ""],
    ["吴十", "13800000008", "", "", "A1", "未知", ""],
]
EXPECTED_ERRORS = [
    {"row": 3, "column": "手机号", "value": "12345", "message": "The phone number is not in a valid format."},
    {
        "row": 4,
        "column": "生日",
        "value": "1990-13-40",
        "message": "The date is not valid; write it as 1990-05-01.",
    },
    {
        "row": 5,
        "column": "门店编码",
        "value": "Z9",
        "message": "Unknown store: no store with this code or name in your part of the organisation.",
    },
    {"row": 6, "column": "手机号", "value": "138 0000 0001", "message": "Duplicate of row 2 in this file."},
    {
        "row": 8,
        "column": "手机号",
        "value": "13912345678",
        "message": "This phone number already belongs to member 10000001.",
    },
    {"row": 9, "column": "标签", "value": "未知", "message": "Unknown tag: 未知."},
]


@pytest.fixture(autouse=True)
def import_settings(settings, tmp_path, client):
    """Uploaded files go to a temporary directory; imports run inline so a test sees the result.

    Messages are asserted in English, in calls and in pages alike (the pages default to Chinese).
    """
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.VAR_DIR = tmp_path / "var"
    settings.ONECARD_IMPORT_INLINE = True
    with translation.override("en"):
        yield settings


@pytest.fixture
def tags(chain):
    return {
        "VIP": labels.create_tag(None, chain.merchant, "VIP"),
        "敏感肌": labels.create_tag(None, chain.merchant, "敏感肌"),
    }


@pytest.fixture
def existing(member_factory):
    """Member 10000001 already has 13912345678."""
    return member_factory(name="老会员", phone="13912345678")


def xlsx_file(rows, headers=HEADERS, name="members.xlsx"):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return SimpleUploadedFile(name, buffer.getvalue())


def same_file(upload):
    """Another upload of exactly the same bytes (openpyxl stamps the time, so building it again differs)."""
    upload.seek(0)
    return SimpleUploadedFile(upload.name, upload.read())


def csv_file(rows, headers=HEADERS, encoding="utf-8", name="members.csv"):
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(headers)
    writer.writerows(rows)
    return SimpleUploadedFile(name, text.getvalue().encode(encoding))


def checked_job(actor, upload, **kwargs):
    job = importing.create_import_job(actor, upload, **kwargs)
    importing.check_import(actor, job)
    job.refresh_from_db()
    return job


# ---- the dry run and the import ------------------------------------------------------------------------


def test_check_reports_every_bad_row_and_changes_nothing(chain, tags, existing):
    # given a file with good and bad rows
    upload = xlsx_file(ROWS)
    # when
    job = checked_job(chain.region_manager, upload)
    # then
    assert job.status == ImportStatus.VALIDATED
    assert job.errors == EXPECTED_ERRORS
    assert (job.total_rows, job.valid_rows, job.error_rows) == (8, 2, 6)
    assert list(Member.objects.values_list("phone", flat=True)) == ["13912345678"]


def test_confirm_imports_exactly_the_good_rows(chain, tags, existing):
    # given a checked file
    job = checked_job(chain.region_manager, xlsx_file(ROWS))
    # when the user confirms
    importing.start_import(chain.region_manager, job)
    # then exactly rows 2 and 7 exist, with their fields
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE
    assert (job.imported_rows, job.error_rows) == (2, 6)
    imported = Member.objects.filter(import_job=job).order_by("member_no")
    assert [(m.member_no, m.name, m.phone) for m in imported] == [
        ("10000002", "张三", "13800000001"),
        ("10000003", "孙八", "13800000006"),
    ]
    zhang, sun = imported
    assert (zhang.gender, zhang.birthday, zhang.home_store, zhang.notes) == (
        "male",
        datetime.date(1990, 5, 1),
        chain.a1,
        "老客户",
    )
    assert (sun.gender, sun.birthday, sun.home_store) == ("female", datetime.date(1985, 7, 8), chain.a2)
    assert sorted(t.name for t in sun.tags.all()) == ["VIP", "敏感肌"]
    assert zhang.source == Source.IMPORT and zhang.created_by == chain.region_manager
    assert (zhang.name_initials, zhang.phone_last4) == ("zs", "0001")
    assert Member.objects.count() == 3
    entries = AuditEntry.objects.filter(action="import")
    assert entries.count() == 1
    assert entries.get().after["imported_rows"] == 2
    assert entries.get().subject_id == str(job.pk)


def test_second_import_of_the_same_file_creates_no_duplicates(chain):
    # given a file that was imported once
    rows = [
        ["张三", "13800000001", "", "", "A1", "", ""],
        ["李四", "13800000002", "", "", "A1", "", ""],
    ]
    upload = xlsx_file(rows)
    first = checked_job(chain.region_manager, upload)
    importing.start_import(chain.region_manager, first)
    assert Member.objects.count() == 2
    # when the same file is uploaded and checked again
    second = checked_job(chain.region_manager, same_file(upload))
    # then every row is reported as a duplicate, the same file is recognised, and confirming imports nothing
    assert second.errors == [
        {
            "row": 2,
            "column": "手机号",
            "value": "13800000001",
            "message": "This phone number already belongs to member 10000001.",
        },
        {
            "row": 3,
            "column": "手机号",
            "value": "13800000002",
            "message": "This phone number already belongs to member 10000002.",
        },
    ]
    assert (second.valid_rows, second.error_rows) == (0, 2)
    assert list(importing.earlier_imports_of_same_file(second)) == [first]
    importing.start_import(chain.region_manager, second)
    second.refresh_from_db()
    assert (second.status, second.imported_rows) == (ImportStatus.DONE, 0)
    assert Member.objects.count() == 2


def test_the_import_checks_the_database_again(chain):
    # given a checked file, and a cashier who registers one of its phones before the user confirms
    rows = [["张三", "13800000001", "", "", "A1", "", ""], ["李四", "13800000002", "", "", "A1", "", ""]]
    job = checked_job(chain.region_manager, xlsx_file(rows))
    assert job.valid_rows == 2
    walk_in = services.create_member(
        chain.cashier_a1, chain.merchant, {"name": "李四", "phone": "13800000002", "home_store": chain.a1}
    )
    # when
    importing.start_import(chain.region_manager, job)
    # then only the other row is imported, and the report names the member who took the number
    job.refresh_from_db()
    assert job.imported_rows == 1
    assert list(Member.objects.filter(import_job=job).values_list("phone", flat=True)) == ["13800000001"]
    assert job.errors == [
        {
            "row": 3,
            "column": "手机号",
            "value": "13800000002",
            "message": f"This phone number already belongs to member {walk_in.member_no}.",
        }
    ]


def test_a_failing_import_imports_nothing(chain):
    # given a checked file with two good rows
    rows = [["张三", "13800000001", "", "", "A1", "", ""], ["李四", "13800000002", "", "", "A1", "", ""]]
    job = checked_job(chain.region_manager, xlsx_file(rows))
    # when the audit write fails after the members were inserted
    with mock.patch("onecard.core.audit.record", side_effect=RuntimeError("disk full")):
        importing.start_import(chain.region_manager, job)
    # then no member exists and the job says why
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED
    assert job.message == "The import failed and nothing was imported: disk full"
    assert Member.objects.count() == 0
    assert importing.progress_of(job)["status"] == ImportStatus.FAILED


def test_a_second_confirm_is_refused_and_imports_once(chain):
    # given a checked file that the user confirms
    job = checked_job(chain.region_manager, xlsx_file([["张三", "13800000001", "", "", "A1", "", ""]]))
    importing.start_import(chain.region_manager, job)
    # when the confirm arrives a second time (double click, second tab)
    with pytest.raises(Conflict) as exc:
        importing.start_import(chain.region_manager, job)
    # then
    assert exc.value.code == "import_already_started"
    assert Member.objects.count() == 1
    with pytest.raises(Conflict):  # nor can the finished job be checked again
        importing.check_import(chain.region_manager, job)


def test_nothing_is_imported_before_confirm(chain):
    # given / when a file is uploaded and checked, but not confirmed
    job = checked_job(chain.region_manager, xlsx_file([["张三", "13800000001", "", "", "A1", "", ""]]))
    # then
    assert job.valid_rows == 1
    assert Member.objects.count() == 0
    assert not AuditEntry.objects.filter(action="import").exists()


# ---- reading files -------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_in_utf8_or_gbk(chain, encoding):
    # given a CSV the way Excel writes it on a Chinese or an English Windows
    rows = [["张三", "13800000001", "男", "1990/5/1", "徐汇店", "", "备注：老客户"]]
    upload = csv_file(rows, encoding=encoding)
    # when
    job = checked_job(chain.region_manager, upload)
    importing.start_import(chain.region_manager, job)
    # then the Chinese text arrives intact
    assert job.headers == HEADERS
    member = Member.objects.get()
    assert (member.name, member.gender, member.notes, member.home_store) == (
        "张三",
        "male",
        "备注：老客户",
        chain.a1,
    )


def test_xlsx_numbers_and_dates_are_read_as_the_user_sees_them(chain):
    # given an .xlsx where the phone is a number and the birthday an Excel date
    upload = xlsx_file([["张三", 13800000001, None, datetime.datetime(1990, 5, 1), "A1", None, None]])
    # when
    job = checked_job(chain.region_manager, upload)
    importing.start_import(chain.region_manager, job)
    # then
    member = Member.objects.get()
    assert (member.phone, member.birthday) == ("13800000001", datetime.date(1990, 5, 1))


def test_blank_rows_are_skipped_but_keep_their_numbers(chain):
    upload = csv_file(
        [
            ["张三", "13800000001", "", "", "A1", "", ""],
            ["", "", "", "", "", "", ""],
            ["李四", "1", "", "", "A1", "", ""],
        ]
    )
    job = checked_job(chain.region_manager, upload)
    assert job.total_rows == 2
    assert [(e["row"], e["column"]) for e in job.errors] == [(4, "手机号")]


def test_other_file_types_are_refused(chain):
    with pytest.raises(BusinessError) as exc:
        importing.create_import_job(chain.region_manager, SimpleUploadedFile("old.xls", b"\xd0\xcf\x11\xe0"))
    assert exc.value.code == "import_file_type"
    with pytest.raises(BusinessError) as exc:
        importing.create_import_job(chain.region_manager, SimpleUploadedFile("broken.xlsx", b"not a zip"))
    assert exc.value.code == "import_unreadable"


def test_too_many_rows_are_refused(chain, monkeypatch):
    monkeypatch.setattr(importing.files, "MAX_ROWS", 2)
    job = importing.create_import_job(
        chain.region_manager,
        csv_file(
            [["a", "13800000001"], ["b", "13800000002"], ["c", "13800000003"]], headers=["name", "phone"]
        ),
        default_store=chain.a1,
    )
    with pytest.raises(BusinessError) as exc:
        importing.check_import(chain.region_manager, job)
    assert exc.value.code == "import_too_many_rows"


# ---- mapping -------------------------------------------------------------------------------------------


def test_columns_are_mapped_from_chinese_and_english_headers(chain):
    labels.define_custom_field(None, chain.merchant, key="shoe", label="鞋码", field_type=FieldType.NUMBER)
    headers = [
        "Name",
        "Mobile",
        "出生日期",
        "所属门店",
        "E-mail",
        "身份证号",
        "负责人",
        "营销同意",
        "来源",
        "鞋码",
        "备注*",
        "其他",
    ]
    assert importing.auto_mapping(headers, importing.custom_field_definitions(chain.merchant)) == [
        "name",
        "phone",
        "birthday",
        "store",
        "email",
        "id_number",
        "owner",
        "consent",
        "source",
        "custom:shoe",
        "notes",
        "",
    ]


def test_owner_consent_source_and_custom_fields_are_imported(chain):
    # given a file with the less common columns, and no store column but a default store
    labels.define_custom_field(None, chain.merchant, key="shoe", label="鞋码", field_type=FieldType.NUMBER)
    headers = ["姓名", "手机", "负责人", "营销同意", "来源", "鞋码"]
    rows = [
        ["张三", "13800000001", "a1mgr", "是", "活动", "38"],
        ["李四", "13800000002", "nobody", "也许", "外星", "大"],
    ]
    # when
    job = checked_job(chain.region_manager, xlsx_file(rows, headers=headers), default_store=chain.a2)
    importing.start_import(chain.region_manager, job)
    # then
    job.refresh_from_db()
    assert [(e["row"], e["column"]) for e in job.errors] == [
        (3, "负责人"),
        (3, "营销同意"),
        (3, "来源"),
        (3, "鞋码"),
    ]
    member = Member.objects.get()
    assert (
        member.owner,
        member.marketing_consent,
        member.source,
        member.custom_fields,
        member.home_store,
    ) == (
        chain.store_manager,
        True,
        Source.CAMPAIGN,
        {"shoe": 38},
        chain.a2,
    )
    assert ConsentRecord.objects.get(member=member).source == f"import #{job.pk}"


def test_the_user_can_change_the_mapping(chain):
    # given a file whose headers the importer does not recognise
    upload = xlsx_file([["张三", "13800000001"]], headers=["客户", "号码"])
    job = importing.create_import_job(chain.region_manager, upload, default_store=chain.a1)
    assert job.mapping["columns"] == ["", ""]
    with pytest.raises(BusinessError) as exc:
        importing.check_import(chain.region_manager, job)
    assert str(exc.value.message) == "Choose a column for: Name、Phone."
    # when the user maps them
    importing.set_mapping(chain.region_manager, job, ["name", "phone"], default_store=chain.a1)
    importing.check_import(chain.region_manager, job)
    # then
    assert (job.valid_rows, job.error_rows) == (1, 0)


def test_a_target_can_be_chosen_once(chain):
    job = importing.create_import_job(
        chain.region_manager, xlsx_file([["张三", "13800000001"]], headers=["a", "b"])
    )
    with pytest.raises(BusinessError):
        importing.set_mapping(chain.region_manager, job, ["name", "name"])


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
    settings.ONECARD_IMPORT_INLINE = False
    settings.CELERY_TASK_ALWAYS_EAGER = True
    with (
        mock.patch.object(background.threading, "Thread") as thread,
        django_capture_on_commit_callbacks(execute=True),
    ):
        tasks.dispatch_import(7, 9)
    assert thread.call_args.kwargs["args"][1:] == (7, 9)
    assert thread.call_args.kwargs["daemon"] is True
    thread.return_value.start.assert_called_once_with()


def test_with_a_broker_the_import_is_queued(chain, settings, django_capture_on_commit_callbacks):
    settings.ONECARD_IMPORT_INLINE = False
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
    settings.ONECARD_IMPORT_INLINE = False
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
