"""Files and jobs of the member import tests: the sample rows with their expected errors, .xlsx and .csv uploads."""

import csv
import io

import openpyxl
from django.core.files.uploadedfile import SimpleUploadedFile

from onecard.members import importing

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
