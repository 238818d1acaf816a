"""Catalogue import/export: a dry run with an exact row-by-row report, all-or-nothing apply, idempotent re-import."""

import io

import openpyxl
import pytest
from django.utils import translation

from onecard.catalog import importing, services
from onecard.catalog.errors import HeadOfficeOnly, ImportHasErrors
from onecard.catalog.models import Category, MemberPrice, Product
from onecard.core.errors import BusinessError
from onecard.core.models import AuditEntry

HEADERS = [
    "SKU",
    "Barcode",
    "Name",
    "Category",
    "Kind",
    "Unit",
    "List price (¥)",
    "Member price: Gold",
    "Active",
    "Stores",
]


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def xlsx(rows, headers=HEADERS):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    return buffer


GOOD = [
    ["TEA-1", "6901234567892", "乌龙茶", "食品 / 饮料 / 茶饮", "product", "瓶", 5.5, 4, "yes", ""],
    ["CAKE-1", "", "蛋糕", "食品 / 烘焙", "product", "个", "20", "", "yes", "A1, B1"],
    ["SVC-1", None, "洗车", "服务", "service", "次", 30, 25.5, "no", "A2"],
]


def state(merchant):
    """Everything the import can touch, to compare before and after."""
    products = {
        p.sku: (
            p.barcode,
            p.name,
            p.category_id,
            p.kind,
            p.unit,
            p.list_price,
            p.is_active,
            sorted(p.stores.values_list("code", flat=True)),
            sorted(p.member_prices.values_list("tier__name", "price")),
        )
        for p in Product.objects.filter(merchant=merchant)
    }
    return products, sorted(Category.objects.filter(merchant=merchant).values_list("path", "name"))


def test_dry_run_reports_what_would_happen_and_writes_nothing(chain, cat):
    # given
    before = state(chain.merchant)
    # when
    report = importing.check_file(chain.merchant, xlsx(GOOD), "products.xlsx")
    # then
    assert report.errors == []
    assert (report.rows, report.created, report.updated, report.unchanged) == (
        3,
        ["CAKE-1", "SVC-1"],
        ["TEA-1"],
        [],
    )
    assert report.new_categories == ["食品 / 烘焙", "服务"]
    assert state(chain.merchant) == before


def test_dry_run_error_report_is_exact(chain, cat):
    # given
    services.create_product(
        None, chain.merchant, sku="JAM-1", barcode="1111222233334", name="果酱", list_price=900
    )
    rows = [
        ["NEW-1", "", "新品", "", "product", "", "0", "", "", ""],  # row 2: price 0
        ["NEW-2", "", "新品二", "", "gadget", "", "1.234", "-1", "maybe", "Z9"],  # row 3: five errors
        ["NEW-1", "", "重复", "", "", "", 3, "", "", ""],  # row 4: SKU again
        ["NEW-3", "1111222233334", "条码冲突", "", "", "", 3, "", "", ""],  # row 5: barcode of JAM-1
        ["bad sku", "", "", "", "", "", 3, "", "", ""],  # row 6: SKU and name
    ]
    # when
    report = importing.check_file(chain.merchant, xlsx(rows), "products.xlsx")
    # then
    assert report.errors == [
        {
            "row": 2,
            "column": "List price (¥)",
            "message": "Enter a list price in yuan greater than zero, with at most two decimals.",
        },
        {
            "row": 3,
            "column": "List price (¥)",
            "message": "Enter a list price in yuan greater than zero, with at most two decimals.",
        },
        {"row": 3, "column": "Kind", "message": "Write product or service."},
        {"row": 3, "column": "Active", "message": "Write yes or no."},
        {"row": 3, "column": "Stores", "message": "No store with code or name Z9."},
        {
            "row": 3,
            "column": "Member price: Gold",
            "message": "Enter a member price in yuan greater than zero, with at most two decimals.",
        },
        {"row": 4, "column": "SKU", "message": "SKU NEW-1 appears again in row 2."},
        {"row": 5, "column": "Barcode", "message": "Another product already has this barcode."},
        {
            "row": 6,
            "column": "SKU",
            "message": "A SKU is 1 to 40 letters, digits, dots, dashes or underscores.",
        },
    ]
    assert report.created == []


def test_apply_writes_everything_and_audits_once(chain, cat):
    # when
    report = importing.apply_file(chain.hq_admin, chain.merchant, xlsx(GOOD), "products.xlsx")
    # then
    assert (len(report.created), len(report.updated)) == (2, 1)
    products, categories = state(chain.merchant)
    bakery = Category.objects.get(merchant=chain.merchant, name="烘焙")
    assert bakery.parent == cat.food and bakery.path == f"/{cat.food.pk}/{bakery.pk}/"
    assert products["TEA-1"] == (
        "6901234567892",
        "乌龙茶",
        cat.tea.pk,
        "product",
        "瓶",
        550,
        True,
        [],
        [("Gold", 400)],
    )
    assert products["CAKE-1"] == ("", "蛋糕", bakery.pk, "product", "个", 2000, True, ["A1", "B1"], [])
    service_category = Category.objects.get(merchant=chain.merchant, name="服务")
    assert products["SVC-1"] == (
        "",
        "洗车",
        service_category.pk,
        "service",
        "次",
        3000,
        False,
        ["A2"],
        [("Gold", 2550)],
    )
    entry = AuditEntry.objects.get(action="import")
    assert entry.after == {
        "rows": 3,
        "created": 2,
        "updated": 1,
        "unchanged": 0,
        "new_categories": ["食品 / 烘焙", "服务"],
    }


def test_reimporting_the_same_file_changes_nothing(chain, cat):
    # given
    importing.apply_file(chain.hq_admin, chain.merchant, xlsx(GOOD), "products.xlsx")
    before = state(chain.merchant)
    stamps = dict(Product.objects.values_list("sku", "updated_at"))
    # when
    report = importing.apply_file(chain.hq_admin, chain.merchant, xlsx(GOOD), "products.xlsx")
    # then
    assert (report.created, report.updated, report.unchanged) == ([], [], ["TEA-1", "CAKE-1", "SVC-1"])
    assert state(chain.merchant) == before
    assert dict(Product.objects.values_list("sku", "updated_at")) == stamps


def test_a_file_with_one_bad_row_imports_nothing(chain, cat):
    before = state(chain.merchant)
    rows = [*GOOD, ["BAD-1", "", "坏", "", "", "", "abc", "", "", ""]]
    with pytest.raises(ImportHasErrors) as caught:
        importing.apply_file(chain.hq_admin, chain.merchant, xlsx(rows), "products.xlsx")
    assert caught.value.extra["errors"][0]["row"] == 5
    assert state(chain.merchant) == before
    assert not AuditEntry.objects.filter(action="import").exists()


def test_only_head_office_may_apply(chain, cat):
    with pytest.raises(HeadOfficeOnly):
        importing.apply_file(chain.region_manager, chain.merchant, xlsx(GOOD), "products.xlsx")


def test_missing_columns_and_unknown_tier_are_refused(chain, cat):
    with pytest.raises(BusinessError) as caught:
        importing.check_file(chain.merchant, xlsx([["X"]], headers=["Barcode"]), "p.xlsx")
    assert caught.value.code == "catalog_import_missing_columns"
    assert str(caught.value.message) == "The file lacks these columns: SKU, Name, List price (¥)."
    with pytest.raises(BusinessError) as caught:
        importing.check_file(
            chain.merchant, xlsx([], headers=["SKU", "Name", "List price (¥)", "会员价：铂金"]), "p.xlsx"
        )
    assert caught.value.code == "catalog_import_unknown_tier"


def test_gbk_csv_with_chinese_headers(chain, cat):
    text = "编码,名称,零售价,分类,会员价：Gold\nNEW-9,新茶,12.5,食品/饮料,10\n"
    report = importing.apply_file(chain.hq_admin, chain.merchant, io.BytesIO(text.encode("gbk")), "p.csv")
    assert report.created == ["NEW-9"]
    product = Product.objects.get(sku="NEW-9")
    assert (product.list_price, product.category) == (1250, cat.drinks)
    assert MemberPrice.objects.get(product=product).price == 1000


def test_export_then_import_is_a_round_trip(chain, cat):
    # given
    importing.apply_file(chain.hq_admin, chain.merchant, xlsx(GOOD), "products.xlsx")
    before = state(chain.merchant)
    # when
    data = importing.export_xlsx(chain.merchant, Product.objects.all())
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    rows = list(sheet.iter_rows(values_only=True))
    report = importing.apply_file(chain.hq_admin, chain.merchant, io.BytesIO(data), "export.xlsx")
    # then
    assert rows[0] == (
        "SKU", "Barcode", "Name", "Category", "Kind", "Unit", "List price (¥)",
        "Member price: Silver", "Member price: Gold", "Active", "Stores",
    )  # fmt: skip
    assert rows[1] == (
        "CAKE-1",
        None,
        "蛋糕",
        "食品 / 烘焙",
        "product",
        "个",
        20,
        None,
        None,
        "Yes",
        "A1, B1",
    )
    assert (report.created, report.updated) == ([], [])
    assert state(chain.merchant) == before
