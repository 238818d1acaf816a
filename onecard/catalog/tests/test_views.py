"""Catalogue pages: permissions, merchant scoping (another merchant's rows are 404), forms with errors in place."""

import io

import openpyxl
import pytest

from onecard.catalog import services
from onecard.catalog.models import Category, MemberPrice, Product
from onecard.core.models import AuditEntry

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def test_list_search_and_category_filter(chain, cat, login):
    # given
    services.create_product(None, chain.merchant, sku="GIFT-1", name="礼盒", list_price=100)
    client = login(chain.store_manager)  # catalog.view, not catalog.manage
    # when
    by_initials = client.get("/catalog/?q=wlc", **EN)
    by_category = client.get(f"/catalog/?category={cat.drinks.pk}", **EN)
    everything = client.get("/catalog/", **EN)
    # then
    assert [p.sku for p in by_initials.context["products"]] == ["TEA-1"]
    assert [p.sku for p in by_category.context["products"]] == ["TEA-1"]
    assert [p.sku for p in everything.context["products"]] == ["GIFT-1", "TEA-1"]
    assert "5.00" in everything.content.decode()
    assert "New product" not in everything.content.decode()


def test_list_pages(chain, cat, login):
    for n in range(55):
        services.create_product(None, chain.merchant, sku=f"P{n:03d}", name="批量", list_price=100)
    response = login(chain.hq_admin).get("/catalog/?q=P&page=2", **EN)
    assert response.context["page"].number == 2
    assert len(response.context["products"]) == 5


def test_other_merchants_product_and_category_are_404(chain, cat, login):
    other = services.create_product(None, chain.other, sku="TEA-1", name="别家", list_price=100)
    other_category = services.create_category(None, chain.other, name="别家分类")
    client = login(chain.hq_admin)
    assert client.get(f"/catalog/{other.pk}/").status_code == 404
    assert client.get(f"/catalog/categories/{other_category.pk}/").status_code == 404
    assert [p.pk for p in client.get("/catalog/").context["products"]] == [cat.product.pk]


@pytest.mark.parametrize("who", ["store_manager", "region_manager"])
def test_manage_pages_need_catalog_manage(chain, cat, login, who):
    client = login(getattr(chain, who))
    assert client.get("/catalog/new/").status_code == 403
    assert client.get(f"/catalog/{cat.product.pk}/").status_code == 403
    assert client.get("/catalog/import/").status_code == 403
    assert client.post("/catalog/categories/new/", {"name": "X"}).status_code == 403


def test_staff_without_catalog_view_is_refused(chain, cat, login):
    client = login(chain.service)
    assert client.get("/catalog/").status_code == 403
    assert client.get("/catalog/export.xlsx").status_code == 403
    assert client.get("/catalog/categories/").status_code == 403


def test_a_cashier_reads_prices_but_changes_nothing(chain, cat, login):
    # given a cashier (catalog.view, not catalog.manage)
    client = login(chain.cashier_a1)
    # when they search the catalogue by pinyin initials
    response = client.get("/catalog/", {"q": "wlc"})
    # then they read the product and its price, with no way to change it
    assert response.status_code == 200
    assert [p.pk for p in response.context["products"]] == [cat.product.pk]
    html = response.content.decode()
    assert cat.product.name in html and f"/catalog/{cat.product.pk}/" not in html
    assert "/catalog/new/" not in html and "/catalog/import/" not in html
    assert client.get(f"/catalog/{cat.product.pk}/").status_code == 403
    assert client.post("/catalog/new/", {"sku": "X-1", "name": "X", "list_price": "1"}).status_code == 403


def test_create_product_with_member_prices(chain, cat, login):
    # when
    response = login(chain.hq_admin).post(
        "/catalog/new/",
        {
            "sku": "cake-2",
            "name": "蛋糕",
            "kind": "product",
            "list_price": "19.90",
            f"member_price_{cat.gold.pk}": "15",
            "category": cat.food.pk,
            "stores": [chain.a1.pk],
            "is_active": "on",
        },
        **EN,
    )
    # then
    assert response.status_code == 302
    product = Product.objects.get(sku="CAKE-2")
    assert (product.list_price, product.category, list(product.stores.all())) == (1990, cat.food, [chain.a1])
    assert MemberPrice.objects.get(product=product).price == 1500


def test_form_shows_service_refusal_next_to_the_field(chain, cat, login):
    # when: the barcode of TEA-1
    response = login(chain.hq_admin).post(
        "/catalog/new/",
        {"sku": "X-1", "name": "重复条码", "kind": "product", "list_price": "1", "barcode": "6901234567892"},
        **EN,
    )
    # then
    assert response.status_code == 200
    assert response.context["form"].errors["barcode"] == ["Another product already has this barcode."]
    assert 'data-error-for="barcode"' in response.content.decode()
    assert not Product.objects.filter(sku="X-1").exists()


def test_edit_product_prefills_and_saves(chain, cat, login):
    client = login(chain.hq_admin)
    page = client.get(f"/catalog/{cat.product.pk}/", **EN)
    assert page.context["form"].initial[f"member_price_{cat.gold.pk}"] == "4.00"
    html = page.content.decode()
    assert f'name="member_price_{cat.gold.pk}"' in html and 'value="4.00"' in html
    assert f'name="stores" value="{chain.a1.pk}"' in html
    response = client.post(
        f"/catalog/{cat.product.pk}/",
        {"sku": "TEA-1", "name": "乌龙茶", "kind": "product", "list_price": "6", "category": cat.tea.pk},
        **EN,
    )
    assert response.status_code == 302
    cat.product.refresh_from_db()
    assert cat.product.list_price == 600
    assert cat.product.is_active is False  # the box was not ticked
    assert not MemberPrice.objects.filter(product=cat.product).exists()


def test_categories_page_and_forms(chain, cat, login):
    client = login(chain.hq_admin)
    page = client.get("/catalog/categories/", **EN)
    assert [row["category"].name for row in page.context["rows"]] == ["食品", "饮料", "茶饮"]
    response = client.post("/catalog/categories/new/", {"name": "烘焙", "parent": cat.food.pk}, **EN)
    assert response.status_code == 302
    assert Category.objects.get(name="烘焙").parent == cat.food
    duplicate = client.post("/catalog/categories/new/", {"name": "烘焙", "parent": cat.food.pk}, **EN)
    assert duplicate.context["form"].errors["name"] == [
        "A category with this name or code already exists here."
    ]
    refused = client.post(f"/catalog/categories/{cat.tea.pk}/deactivate/", follow=True, **EN)
    assert "This category still holds active products or subcategories." in refused.content.decode()


def _upload(rows):
    workbook = openpyxl.Workbook()
    workbook.active.append(["SKU", "Name", "List price (¥)", "Category"])
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    buffer.name = "products.xlsx"
    return buffer


def test_import_page_dry_run_then_confirm(chain, cat, login):
    client = login(chain.hq_admin)
    assert client.get("/catalog/import/", **EN).status_code == 200
    # when: upload
    checked = client.post("/catalog/import/", {"file": _upload([["NEW-1", "新品", 9.9, "礼品"]])}, **EN)
    # then: a report, nothing written yet
    assert checked.status_code == 200
    assert "1 rows: 1 to create, 0 to update, 0 unchanged." in checked.content.decode()
    assert not Product.objects.filter(sku="NEW-1").exists()
    # when: confirm
    done = client.post("/catalog/import/", {"token": checked.context["token"]}, **EN)
    # then
    assert done.status_code == 302
    assert Product.objects.get(sku="NEW-1").category.name == "礼品"


def test_import_page_shows_row_errors_and_offers_no_confirm(chain, cat, login):
    response = login(chain.hq_admin).post(
        "/catalog/import/", {"file": _upload([["NEW-1", "新品", 0, ""]])}, **EN
    )
    html = response.content.decode()
    assert "Enter a list price in yuan greater than zero" in html
    assert 'id="confirm-form"' not in html
    assert response.context["token"] == ""


def test_confirm_with_a_token_of_another_session_is_404(chain, cat, login):
    response = login(chain.hq_admin).post("/catalog/import/", {"token": "catalog-imports/x.xlsx"})
    assert response.status_code == 404


def test_export_is_filtered_and_audited(chain, cat, login):
    services.create_product(None, chain.merchant, sku="GIFT-1", name="礼盒", list_price=100)
    response = login(chain.store_manager).get(f"/catalog/export.xlsx?category={cat.food.pk}", **EN)
    assert response.status_code == 200
    rows = list(openpyxl.load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert [r[0] for r in rows[1:]] == ["TEA-1"]
    assert AuditEntry.objects.get(action="export", subject_type="catalog.product").after["rows"] == 1
