"""Member import (M7): the dry run's error report, the one-transaction import, reading files, the mapping."""

import datetime
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from onecard.core.errors import BusinessError, Conflict
from onecard.core.models import AuditEntry
from onecard.members import importing, labels, services
from onecard.members.choices import FieldType, ImportStatus, Source
from onecard.members.models import ConsentRecord, Member
from onecard.testing.member_imports import (
    EXPECTED_ERRORS,
    HEADERS,
    ROWS,
    checked_job,
    csv_file,
    same_file,
    xlsx_file,
)

pytestmark = pytest.mark.usefixtures("import_settings")


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
