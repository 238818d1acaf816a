"""The one .xlsx reader and writer (openpyxl) behind every export, import and error report.

Writing streams rows (openpyxl's write-only mode), so a large export does not hold its cells in memory,
and text that starts with "=" stays text: a member's name must never run as a formula in Excel.
Reading yields the first sheet's rows as plain values; a file openpyxl cannot open is refused with
`UnreadableSpreadsheet`, which the import pages turn into their own message.
"""

import io
import zipfile
from decimal import Decimal

from django.http import HttpResponse
from django.utils import timezone
from django.utils.functional import Promise
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils.exceptions import InvalidFileException

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class UnreadableSpreadsheet(Exception):
    """The file is not an .xlsx workbook openpyxl can open."""


class XlsxSheet:
    """One sheet of an XlsxWriter: append rows of plain values."""

    def __init__(self, sheet):
        self._sheet = sheet

    def append(self, values):
        """Add one row; lazy translations become text, a text starting with "=" is kept as text."""
        self._sheet.append([self._cell(value) for value in values])

    def extend(self, rows):
        """Add rows; how many were added."""
        count = 0
        for row in rows:
            self.append(row)
            count += 1
        return count

    def _cell(self, value):
        if isinstance(value, Promise):
            value = str(value)
        if isinstance(value, str) and value.startswith("="):
            cell = WriteOnlyCell(self._sheet, value=value)
            cell.data_type = "s"
            return cell
        return value


class XlsxWriter:
    """A streamed workbook: `sheet(title, header)` per sheet, then `to_bytes()` or `response(filename)`."""

    def __init__(self):
        self._workbook = Workbook(write_only=True)

    def sheet(self, title, header=None) -> XlsxSheet:
        """A new sheet named `title`, its first row `header` when given."""
        sheet = XlsxSheet(self._workbook.create_sheet(str(title)))
        if header is not None:
            sheet.append(header)
        return sheet

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        self._workbook.save(buffer)
        return buffer.getvalue()

    def response(self, filename) -> HttpResponse:
        """The workbook as a download named `filename`."""
        return xlsx_response(self.to_bytes(), filename)


def yuan_cell(fen) -> Decimal:
    """An amount in fen as a yuan cell (a number Excel sums, not text)."""
    return Decimal(fen or 0) / 100


def time_cell(moment) -> str:
    """A stored time as the shop reads it: local, to the minute."""
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def xlsx_bytes(title, header, rows) -> bytes:
    """A one-sheet workbook of `header` and `rows` as bytes."""
    writer = XlsxWriter()
    writer.sheet(title, header).extend(rows)
    return writer.to_bytes()


def xlsx_response(data: bytes, filename) -> HttpResponse:
    """An .xlsx download of `data` named `filename`."""
    response = HttpResponse(data, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def read_rows(fileobj):
    """The first sheet's rows as tuples of values (formulas read as their saved results)."""
    try:
        workbook = load_workbook(fileobj, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError) as exc:
        raise UnreadableSpreadsheet(str(exc)) from exc
    try:
        yield from workbook.worksheets[0].iter_rows(values_only=True)
    finally:
        workbook.close()
