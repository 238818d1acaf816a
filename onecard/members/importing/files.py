"""Reading .xlsx and .csv files row by row (the error report is written by `lifecycle`)."""

import codecs
import csv
import datetime
import io
from contextlib import contextmanager
from pathlib import Path

from django.utils.translation import gettext as _

from onecard.core.errors import BusinessError
from onecard.core.spreadsheets import UnreadableSpreadsheet, read_rows

MAX_ROWS = 200_000
MAX_FILE_BYTES = 50 * 1024 * 1024
EXTENSIONS = (".xlsx", ".csv")


# ---- reading files ---------------------------------------------------------------------------------------


def _unreadable(detail=""):
    message = _("The file could not be read. Save it as .xlsx or .csv and upload it again.")
    return BusinessError(f"{message} {detail}".strip(), code="import_unreadable")


def decode_csv(data: bytes) -> str:
    """CSV text from bytes: UTF-8 (with or without BOM), UTF-16 with BOM, else GB18030 (a superset of GBK,
    which is what Excel on a Chinese Windows writes)."""
    if data.startswith(codecs.BOM_UTF8):
        encodings = ("utf-8-sig",)
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings = ("utf-16",)
    else:
        encodings = ("utf-8", "gb18030")
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise _unreadable(_("The text encoding is neither UTF-8 nor GBK."))


def _csv_rows(fileobj):
    text = decode_csv(fileobj.read())
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", "\t", ";"), key=first_line.count)
    yield from csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)


def _xlsx_rows(fileobj):
    try:
        yield from read_rows(fileobj)
    except UnreadableSpreadsheet as exc:
        raise _unreadable() from exc


def is_blank(value):
    return value is None or (isinstance(value, str) and not value.strip())


@contextmanager
def open_table(fileobj, filename):
    """(headers, rows) of the first sheet: rows yields (spreadsheet row number, cells padded to the headers).

    Blank rows are skipped but keep their numbers, so the error report names the row the user sees in Excel.
    """
    suffix = Path(filename).suffix.lower()
    if suffix not in EXTENSIONS:
        raise BusinessError(
            _("Only .xlsx and .csv files can be imported; save an .xls file as .xlsx first."),
            code="import_file_type",
        )
    raw = _csv_rows(fileobj) if suffix == ".csv" else _xlsx_rows(fileobj)
    try:
        header = next(raw, None)
        if header is None or all(is_blank(v) for v in header):
            raise BusinessError(_("The first row must hold the column names."), code="import_no_headers")
        headers = [text_of(v) or _("Column %(n)s") % {"n": i + 1} for i, v in enumerate(header)]
        while headers and is_blank(header[len(headers) - 1]):  # trailing empty header cells
            headers.pop()
            header = header[: len(headers)]
        width = len(headers)

        def rows():
            count = 0
            for number, cells in enumerate(raw, start=2):
                cells = list(cells[:width]) + [None] * (width - len(cells))
                if all(is_blank(v) for v in cells):
                    continue
                count += 1
                if count > MAX_ROWS:
                    raise BusinessError(
                        _("The file has more than %(n)s rows; split it into smaller files.")
                        % {"n": MAX_ROWS},
                        code="import_too_many_rows",
                    )
                yield number, cells

        yield headers, rows()
    finally:
        raw.close()


@contextmanager
def open_job_table(job):
    with job.file.open("rb") as fileobj, open_table(fileobj, job.original_name) as table:
        yield table


def text_of(value) -> str:
    """A cell as trimmed text; Excel numbers like 13812345678.0 lose the '.0', dates print as 1990-05-01."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat(sep=" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value).strip()


def date_or_text(value):
    """Dates stay dates (a birthday cell formatted as a date in Excel); everything else becomes text."""
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    return text_of(value)
