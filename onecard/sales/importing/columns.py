"""Which sale field each column of a file fills, recognised by its header, and the template users fill in.

One row is one sale. Its items, when the old system knows them, go in one cell: "SKU×quantity" entries
separated by ";" (e.g. "CAKE-1×2; TEA-1"; a missing quantity is 1). One row per sale keeps the file the
shape most systems export, lets a row be checked on its own, and makes "the same sale twice" a
comparison of two rows.
"""

import io
import re

import openpyxl
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from onecard.catalog.models import Product
from onecard.core.scoping import scope
from onecard.members.importing.mapping import first_column_wins
from onecard.org.choices import NodeKind
from onecard.org.models import OrgNode

# field: (label, header aliases compared without spaces, punctuation or bracketed notes, lower-cased)
FIELDS = {
    "member_no": (
        gettext_lazy("Member no."),
        ("会员号", "会员编号", "会员卡号", "会员编码", "卡号", "memberno", "membernumber", "member"),
    ),
    "phone": (
        gettext_lazy("Phone"),
        ("手机号", "手机", "手机号码", "电话", "电话号码", "联系电话", "会员手机", "phone", "mobile"),
    ),
    "date": (
        gettext_lazy("Date"),
        (
            "日期",
            "时间",
            "消费日期",
            "消费时间",
            "交易日期",
            "交易时间",
            "下单时间",
            "销售日期",
            "销售时间",
            "date",
            "time",
            "datetime",
            "purchasedate",
        ),
    ),
    "amount": (
        gettext_lazy("Amount"),
        ("金额", "消费金额", "实付金额", "实收金额", "交易金额", "销售金额", "amount", "total", "amountyuan"),
    ),
    "quantity": (gettext_lazy("Quantity"), ("数量", "件数", "quantity", "qty")),
    "store": (
        gettext_lazy("Store"),
        ("门店", "门店编码", "门店名称", "消费门店", "销售门店", "store", "storecode", "shop"),
    ),
    "items": (
        gettext_lazy("Items"),
        ("商品", "商品明细", "明细", "消费明细", "购买商品", "items", "products"),
    ),
}
REQUIRED = ("date", "amount", "store")
_HEADER_NOISE = re.compile(r"[\s_\-*:：.]|\(.*?\)|（.*?）")

TEMPLATE = (
    ("会员号", "10000001"),
    ("手机号", ""),
    ("消费时间", "2025-03-08 14:30"),
    ("金额", "68.50"),
    ("数量", "3"),
    ("门店编码", "A1"),
    ("商品", "CAKE-1×2; TEA-1×1"),
)


def _normalise(header) -> str:
    return _HEADER_NOISE.sub("", str(header)).lower()


def label(field) -> str:
    return str(FIELDS[field][0]) if field in FIELDS else field


def recognise(headers) -> list:
    """Per header: the field it fills ("" for none); a field is taken by its first column only."""
    aliases = {_normalise(alias): key for key, (_label, names) in FIELDS.items() for alias in names}
    return first_column_wins(headers, aliases, _normalise)


def missing_fields(columns) -> list:
    """Labels of the fields the file must have and does not (a member needs a member no. or a phone)."""
    present = set(columns)
    missing = [label(field) for field in REQUIRED if field not in present]
    if not present & {"member_no", "phone"}:
        missing.insert(0, _("Member no. or phone"))
    return missing


def template_xlsx(actor, merchant) -> bytes:
    """The template: the Chinese column names and one example row (the user's first store, first products)."""
    example = dict(TEMPLATE)
    if merchant is not None:
        stores = scope(OrgNode.objects.filter(merchant=merchant, kind=NodeKind.STORE), actor, "id")
        store = stores.order_by("path").first()
        example["门店编码"] = store.code if store is not None else ""
        products = list(Product.objects.filter(merchant=merchant, is_active=True).order_by("sku")[:2])
        if products:
            example["商品"] = "; ".join(f"{p.sku}×{n}" for p, n in zip(products, (2, 1), strict=False))
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "历史消费"
    sheet.append([header for header, _value in TEMPLATE])
    sheet.append([example[header] for header, _value in TEMPLATE])
    for column in sheet.iter_cols(min_row=1, max_row=2):
        column[1].number_format = "@"  # text: Excel must not turn member numbers or times into numbers
        sheet.column_dimensions[column[0].column_letter].width = 20
    notes = workbook.create_sheet("说明")
    for line in TEMPLATE_NOTES:
        notes.append([str(line)])
    notes.column_dimensions["A"].width = 100
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


TEMPLATE_NOTES = (
    gettext_lazy("One row is one sale. Fill in the member no. or the phone (or both)."),
    gettext_lazy("Time: 2025-03-08 14:30 or 2025-03-08 (then 00:00), Beijing time."),
    gettext_lazy("Amount: what the member paid, in yuan with up to two decimals."),
    gettext_lazy("Quantity: optional, the number of units (1 when empty)."),
    gettext_lazy("Store: the store's code or name; required."),
    gettext_lazy(
        'Items: optional, "SKU×quantity" separated by ";", e.g. CAKE-1×2; TEA-1. '
        "The amount is shared among them in proportion to their list prices."
    ),
    gettext_lazy("Rows that repeat a sale imported before are skipped."),
)
