"""Catalogue import and export as .xlsx (import also reads .csv, UTF-8 or GBK, through members' file reader).

Columns: SKU, Barcode, Name, Category, Kind, Unit, List price (¥), one "Member price: <tier>" column per
tier, Active, Stores. Headers are recognised in English, in the user's language and by their usual Chinese
names; only SKU, Name and List price are required.

Rules of the import, decided here:
- Upsert by SKU: a known SKU updates that product, a new one creates it. A row equal to the product as it
  is changes nothing, so importing the same file twice writes nothing the second time.
- Category is a path of names, "Food / Drinks". Missing levels are created on apply (the dry run lists
  them), because a catalogue file usually arrives before anyone has typed its category tree.
- Prices are yuan with at most two decimals, turned into fen exactly (more decimals are refused, never
  rounded). An empty member-price cell means "no member price for that tier" (an existing one is removed),
  so an exported file re-imports to the same state. Tiers without a column are left alone.
- Stores are store codes (or names) separated by commas; empty means every store.
- The dry run checks every row and reports each error as (row, column, message). Apply re-checks the file
  against the database as it is then and writes all rows in one transaction, or nothing if any row fails.
"""

import re
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from onecard.core import audit
from onecard.core.errors import BusinessError, ValidationFailed
from onecard.core.money import yuan_str_to_fen
from onecard.core.spreadsheets import XlsxWriter
from onecard.loyalty.models import Tier
from onecard.members.importing.files import open_table, text_of
from onecard.org.choices import NodeKind
from onecard.org.models import OrgNode

from . import services
from .choices import ProductKind
from .errors import ImportHasErrors
from .models import Category, Product

COLUMNS = [
    ("sku", gettext_noop("SKU"), ("编码", "商品编码", "货号")),
    ("barcode", gettext_noop("Barcode"), ("条码", "条形码")),
    ("name", gettext_noop("Name"), ("名称", "商品名称")),
    ("category", gettext_noop("Category"), ("分类", "类别")),
    ("kind", gettext_noop("Kind"), ("类型",)),
    ("unit", gettext_noop("Unit"), ("单位",)),
    ("list_price", gettext_noop("List price (¥)"), ("零售价", "标价", "售价")),
    ("active", gettext_noop("Active"), ("启用", "是否启用")),
    ("stores", gettext_noop("Stores"), ("门店", "销售门店")),
]
REQUIRED = ("sku", "name", "list_price")
MEMBER_PRICE = gettext_noop("Member price")
MEMBER_PRICE_ALIASES = ("会员价",)
YES = {"yes", "y", "1", "true", "是"}
NO = {"no", "n", "0", "false", "否"}
SEPARATORS = re.compile(r"[,，、;；\s]+")


@dataclass
class ImportReport:
    """What a file would do (dry run) or did (apply): counts by SKU, new category paths, row errors."""

    rows: int = 0
    created: list = field(default_factory=list)
    updated: list = field(default_factory=list)
    unchanged: list = field(default_factory=list)
    new_categories: list = field(default_factory=list)
    errors: list = field(default_factory=list)  # {"row": n, "column": header, "message": text}
    plans: list = field(default_factory=list, repr=False)

    @property
    def ok(self):
        return not self.errors


def _norm(text):
    return re.sub(r"\s+", " ", str(text or "")).strip().lower()


def _header_map(headers, tiers):
    """{column index: key or ("tier", tier)}; refuses a file without the required columns or with unknown tiers."""
    names = {}
    for key, english, aliases in COLUMNS:
        for label in (english, _(english), *aliases):
            names[_norm(label)] = key
    member_prefixes = {_norm(MEMBER_PRICE), _norm(_(MEMBER_PRICE)), *MEMBER_PRICE_ALIASES}
    tier_by_name = {_norm(t.name): t for t in tiers}
    mapping, unknown_tiers = {}, []
    for index, header in enumerate(headers):
        text = _norm(header)
        match = re.match(r"^(.*?)\s*[:：]\s*(.+)$", text)
        if match and match.group(1) in member_prefixes:
            tier = tier_by_name.get(match.group(2))
            if tier is None:
                unknown_tiers.append(str(header))
            else:
                mapping[index] = ("tier", tier)
        elif text in names and names[text] not in mapping.values():
            mapping[index] = names[text]
    missing = [_(english) for key, english, _a in COLUMNS if key in REQUIRED and key not in mapping.values()]
    if missing:
        raise BusinessError(
            _("The file lacks these columns: %(columns)s.") % {"columns": ", ".join(missing)},
            code="catalog_import_missing_columns",
        )
    if unknown_tiers:
        raise BusinessError(
            _("These columns name no tier of this merchant: %(columns)s.")
            % {"columns": ", ".join(unknown_tiers)},
            code="catalog_import_unknown_tier",
        )
    return mapping


def _category_paths(merchant):
    """{("Food", "Drinks"): category} for every category of the merchant."""
    categories = list(Category.objects.filter(merchant=merchant))
    by_id = {c.pk: c for c in categories}
    paths = {}
    for c in categories:
        names = tuple(by_id[i].name for i in reversed(c.ancestor_ids()) if i in by_id)
        paths[names] = c
    return paths


def _kind_of(text):
    value = _norm(text)
    if not value:
        return ProductKind.PRODUCT
    for choice in ProductKind:
        if value in {choice.value, _norm(choice.label), _norm(_(choice.label))}:
            return choice.value
    return {"商品": ProductKind.PRODUCT, "服务": ProductKind.SERVICE}.get(value)


def _fen(text):
    fen = yuan_str_to_fen(text)  # ValueError on text or more than two decimals
    if fen <= 0 or fen > services.MAX_PRICE:
        raise ValueError("out of range")
    return fen


def _row_plan(merchant, cells, mapping, headers, context, report, number):
    """The checked row as a plan dict, or None after adding its errors to the report."""
    values = {key: cells[i] for i, key in mapping.items() if not isinstance(key, tuple)}
    header_of = {key: headers[i] for i, key in mapping.items() if not isinstance(key, tuple)}
    row_errors = []

    def error(key, message, column=None):
        column = header_of.get(key, key) if column is None else column
        row_errors.append({"row": number, "column": str(column), "message": str(message)})

    sku, barcode = _codes(values, context, number, error)
    list_price = _list_price(values, error)
    kind = _kind_of(values.get("kind"))
    if kind is None:
        error("kind", _("Write product or service."))
    active = _active(values, error)
    category_text = text_of(values.get("category"))
    category_path = tuple(part.strip() for part in category_text.split("/") if part.strip())
    if any(len(part) > 60 for part in category_path):
        error("category", _("A category name has at most 60 characters."))
    stores = _stores(values, context, error)
    prices = _member_prices(cells, mapping, headers, error)
    existing = context["products"].get(sku)
    data = {
        "sku": sku,
        "barcode": barcode,
        "name": text_of(values.get("name")),
        "category": None,
        "kind": kind,
        "unit": text_of(values.get("unit")) if "unit" in values else (existing.unit if existing else ""),
        "list_price": list_price if list_price is not None else 1,
        "is_active": active,
        "package_service": existing.package_service if existing else "",
    }
    if "barcode" not in values and existing is not None:
        data["barcode"] = existing.barcode
    try:
        fields = services.check_product(merchant, data, existing)
    except ValidationFailed as exc:
        for key, messages in exc.errors.items():
            for message in messages:
                error(key, message)
        fields = None
    if row_errors:
        report.errors.extend(row_errors)
        return None
    return {
        "row": number,
        "fields": fields,
        "category_path": category_path,
        "has_category": "category" in values,
        "stores": stores if "stores" in values else None,
        "prices": prices,
        "existing": existing,
    }


def _codes(values, context, number, error):
    """The row's SKU and barcode; one seen in an earlier row of the file is an error."""
    sku = services.normalize_sku(text_of(values.get("sku")))
    if sku and sku in context["skus"]:
        error(
            "sku", _("SKU %(sku)s appears again in row %(row)s.") % {"sku": sku, "row": context["skus"][sku]}
        )
    elif sku:
        context["skus"][sku] = number
    barcode = text_of(values.get("barcode"))
    if barcode and barcode in context["barcodes"]:
        error(
            "barcode", _("This barcode appears again in row %(row)s.") % {"row": context["barcodes"][barcode]}
        )
    elif barcode:
        context["barcodes"][barcode] = number
    return sku, barcode


def _list_price(values, error):
    """The list price in fen, or None after an error."""
    try:
        return _fen(text_of(values.get("list_price")))
    except ValueError:
        error("list_price", _("Enter a list price in yuan greater than zero, with at most two decimals."))
        return None


def _active(values, error):
    """Whether the product is on sale: yes/no in English or Chinese; blank means yes."""
    active_text = _norm(text_of(values.get("active")))
    if not active_text:
        return True
    if active_text in YES or active_text == _norm(_("Yes")):
        return True
    if active_text in NO or active_text == _norm(_("No")):
        return False
    error("active", _("Write yes or no."))
    return True


def _stores(values, context, error):
    """The stores named by code or name in the stores cell; an unknown one is an error."""
    stores = []
    for token in SEPARATORS.split(text_of(values.get("stores"))):
        if not token:
            continue
        store = context["stores"].get(token) or context["stores"].get(_norm(token))
        if store is None:
            error("stores", _("No store with code or name %(store)s.") % {"store": token})
        else:
            stores.append(store)
    return stores


def _member_prices(cells, mapping, headers, error):
    """{tier id: price in fen or None (blank)} from the member price columns."""
    prices = {}
    for index, key in mapping.items():
        if isinstance(key, tuple):
            text = text_of(cells[index])
            try:
                prices[key[1]] = _fen(text) if text else None
            except ValueError:
                error(
                    key,
                    _("Enter a member price in yuan greater than zero, with at most two decimals."),
                    column=headers[index],
                )
    return prices


def _changed(plan, category):
    """True when applying `plan` would change its existing product."""
    product = plan["existing"]
    fields = {**plan["fields"], "category": category if plan["has_category"] else product.category}
    if any(getattr(product, name) != value for name, value in fields.items()):
        return True
    if plan["stores"] is not None and {s.pk for s in plan["stores"]} != set(
        product.stores.values_list("id", flat=True)
    ):
        return True
    current = dict(product.member_prices.values_list("tier_id", "price"))
    return any(current.get(tier.pk) != price for tier, price in plan["prices"].items())


def check_file(merchant, fileobj, filename):
    """Dry run: read and check every row of the file; nothing is written."""
    tiers = list(Tier.objects.filter(merchant=merchant).order_by("rank"))
    stores = {}
    for store in OrgNode.objects.filter(merchant=merchant, kind=NodeKind.STORE):
        stores.setdefault(_norm(store.name), store)
        stores[store.code] = store
    context = {
        "skus": {},
        "barcodes": {},
        "stores": stores,
        "products": {p.sku: p for p in Product.objects.filter(merchant=merchant)},
    }
    paths = _category_paths(merchant)
    report = ImportReport()
    new_paths = []
    with open_table(fileobj, filename) as (headers, rows):
        mapping = _header_map(headers, tiers)
        for number, cells in rows:
            report.rows += 1
            plan = _row_plan(merchant, cells, mapping, headers, context, report, number)
            if plan is None:
                continue
            path = plan["category_path"]
            for depth in range(1, len(path) + 1):
                if path[:depth] not in paths and path[:depth] not in new_paths:
                    new_paths.append(path[:depth])
            category = paths.get(path) if path else None
            if plan["existing"] is None:
                report.created.append(plan["fields"]["sku"])
            elif path in new_paths or _changed(plan, category):
                report.updated.append(plan["fields"]["sku"])
            else:
                report.unchanged.append(plan["fields"]["sku"])
                continue
            report.plans.append(plan)
    report.new_categories = [" / ".join(p) for p in new_paths]
    return report


@transaction.atomic
def apply_file(actor, merchant, fileobj, filename):
    """Re-check the file and write every row in one transaction; any error writes nothing."""
    services.require_catalog_manager(actor, merchant)
    report = check_file(merchant, fileobj, filename)
    if report.errors:
        raise ImportHasErrors(extra={"errors": report.errors[:100]})
    paths = _category_paths(merchant)
    for path in report.new_categories:
        names = tuple(part.strip() for part in path.split(" / "))
        paths[names] = services._insert_category(merchant, names[-1], paths.get(names[:-1]))
    for plan in report.plans:
        fields = dict(plan["fields"])
        if plan["has_category"]:
            fields["category"] = paths.get(plan["category_path"]) if plan["category_path"] else None
        else:
            fields.pop("category")
        product = plan["existing"] or Product(merchant=merchant)
        services.write_product(product, fields, plan["stores"], plan["prices"])
    audit.record(
        actor,
        "import",
        subject_type="catalog.product",
        subject_repr=str(filename)[:200],
        merchant=merchant,
        after={
            "rows": report.rows,
            "created": len(report.created),
            "updated": len(report.updated),
            "unchanged": len(report.unchanged),
            "new_categories": report.new_categories,
        },
    )
    return report


# ---- export ---------------------------------------------------------------------------------------------------


def _yuan(fen):
    return None if fen is None else Decimal(fen) / 100


def export_xlsx(merchant, products):
    """The products (a queryset of `merchant`'s) as an .xlsx the import reads back to the same state."""
    tiers = list(Tier.objects.filter(merchant=merchant).order_by("rank"))
    names = dict(Category.objects.filter(merchant=merchant).values_list("id", "name"))
    paths = {c.pk: c.ancestor_ids() for c in Category.objects.filter(merchant=merchant)}
    workbook = XlsxWriter()
    headers = [_(english) for key, english, _a in COLUMNS if key not in ("active", "stores")]
    headers += [f"{_(MEMBER_PRICE)}: {tier.name}" for tier in tiers]
    headers += [_("Active"), _("Stores")]
    sheet = workbook.sheet(_("Products"), headers)
    products = (
        products.filter(merchant=merchant)
        .select_related("category")
        .prefetch_related("member_prices", "stores")
    )
    for p in products.order_by("sku"):
        prices = {mp.tier_id: mp.price for mp in p.member_prices.all()}
        category = " / ".join(names[i] for i in reversed(paths[p.category_id])) if p.category_id else ""
        row = [p.sku, p.barcode, p.name, category, p.kind, p.unit, _yuan(p.list_price)]
        row += [_yuan(prices.get(tier.pk)) for tier in tiers]
        row += [_("Yes") if p.is_active else _("No"), ", ".join(sorted(s.code for s in p.stores.all()))]
        sheet.append(row)
    return workbook.to_bytes()
