"""The one .xlsx writer and reader: what is written reads back the same, text stays text."""

import io

import pytest
from django.utils import translation
from django.utils.translation import gettext_lazy

from onecard.core.spreadsheets import (
    XLSX_CONTENT_TYPE,
    UnreadableSpreadsheet,
    XlsxWriter,
    read_rows,
    xlsx_bytes,
)


def test_rows_written_read_back_as_they_were():
    # given a workbook with a header and two rows of mixed values
    data = xlsx_bytes("会员", ["姓名", "积分"], [["张三", 120], ["李四", 0]])
    # when it is read back
    rows = list(read_rows(io.BytesIO(data)))
    # then the first sheet holds exactly those rows
    assert rows == [("姓名", "积分"), ("张三", 120), ("李四", 0)]


def test_text_that_looks_like_a_formula_stays_text():
    data = xlsx_bytes("Sheet", ["name"], [["=1+1"], ['=HYPERLINK("x")']])
    assert list(read_rows(io.BytesIO(data)))[1:] == [("=1+1",), ('=HYPERLINK("x")',)]


def test_lazy_translations_are_written_as_text_and_extend_counts_rows():
    # given a writer with two sheets
    writer = XlsxWriter()
    with translation.override("zh-hans"):
        first = writer.sheet(gettext_lazy("Members"), [gettext_lazy("Name")])
    # when rows are added through extend
    count = first.extend(iter([["a"], ["b"], ["c"]]))
    writer.sheet("Second").append([1])
    # then the count is the number of rows and the first sheet reads back
    assert count == 3
    assert list(read_rows(io.BytesIO(writer.to_bytes()))) == [("名称",), ("a",), ("b",), ("c",)]


def test_a_download_carries_the_type_and_the_file_name():
    response = XlsxWriter().response("report-2026.xlsx")
    assert response["Content-Type"] == XLSX_CONTENT_TYPE
    assert response["Content-Disposition"] == 'attachment; filename="report-2026.xlsx"'


def test_a_file_that_is_no_workbook_is_refused():
    with pytest.raises(UnreadableSpreadsheet):
        list(read_rows(io.BytesIO(b"name,points\nzhang,1\n")))
