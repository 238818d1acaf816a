"""Checking every row of a sales import: member, time, amount, quantity, store and items; then the rows that
repeat a sale an earlier import brought in. Reads the database, changes nothing.

A row's messages name its row number (as Excel shows it) and the column of the file; they are gettext
strings, so a Chinese user reads them in Chinese.
"""

import datetime
import re
from collections import Counter
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.translation import gettext as _

from onecard.catalog.models import Product
from onecard.core.money import MAX_AMOUNT, fen_to_yuan_str, yuan_str_to_fen
from onecard.core.validators import InvalidValue, normalize_phone
from onecard.members.importing.checking import stores_by_code_and_name
from onecard.members.importing.files import text_of
from onecard.members.importing.lifecycle import check_each_row
from onecard.members.models import Member
from onecard.org.choices import NodeKind
from onecard.org.models import OrgNode

from ..models import Sale, SaleKind
from .columns import label

# SQLite allows 999 parameters per statement; 900 keys leave room for the merchant id.
QUERY_CHUNK = 900
MAX_QUANTITY = 100_000
SHANGHAI = ZoneInfo("Asia/Shanghai")
_DATE = re.compile(
    r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T]+(\d{1,2})[:：时](\d{1,2})(?:[:：分](\d{1,2})秒?)?)?$"
)
_ITEM_SPLIT = re.compile(r"[;；\n]")
_ITEM = re.compile(r"^(?P<sku>.+?)\s*[×xX*＊]\s*(?P<quantity>\d+)$")
_AMOUNT_NOISE = re.compile(r"[¥￥,，元\s]")


@dataclass
class ImportRow:
    """One good row: the sale it becomes (member_id is set once the members are looked up)."""

    number: int
    created_at: datetime.datetime
    amount: int
    quantity: int
    store: OrgNode
    items: list | None  # [(Product, quantity)], None: one unitemised line
    member_no: str = ""
    phone: str = ""
    member_id: int | None = None

    def key(self):
        """What makes two sales the same: member, time, amount, store."""
        return (self.member_id, self.created_at, self.amount, self.store.pk)


@dataclass
class CheckResult:
    """The outcome of checking every row: the rows to import, those skipped as imported before, the errors."""

    total: int = 0
    rows: list = field(default_factory=list)  # ImportRow, in file order
    errors: list = field(default_factory=list)  # {"row", "column", "value", "message"}, by row then column
    skipped: list = field(default_factory=list)  # {"row", "message"}

    @property
    def error_rows(self) -> int:
        return len({e["row"] for e in self.errors})

    @property
    def amount(self) -> int:
        return sum(row.amount for row in self.rows)


# ---- one cell -------------------------------------------------------------------------------------------------


def parse_time(value, now=None):
    """(aware time in Asia/Shanghai, error): an Excel date or time, or text like 2025-03-08 14:30."""
    if isinstance(value, datetime.datetime):
        naive = value.replace(tzinfo=None)
    elif isinstance(value, datetime.date):
        naive = datetime.datetime.combine(value, datetime.time())
    else:
        match = _DATE.match(text_of(value))
        if not match:
            return None, _("Write the time as 2025-03-08 14:30 or the date as 2025-03-08.")
        try:
            naive = datetime.datetime(*(int(part or 0) for part in match.groups()))
        except ValueError:
            return None, _("This date or time does not exist.")
    # Excel keeps times as fractions of a day: 14:30 may read back as 14:29:59.999998.
    naive = (naive + datetime.timedelta(microseconds=500_000)).replace(microsecond=0)
    moment = naive.replace(tzinfo=SHANGHAI)
    if moment > (now or timezone.now()):
        return None, _("The time is in the future.")
    return moment, None


def parse_amount(value):
    """(fen, error) of an amount in yuan with at most two decimals, more than zero."""
    text = _AMOUNT_NOISE.sub("", text_of(value))
    if not text:
        return None, _("The amount is required.")
    try:
        fen = yuan_str_to_fen(text)
    except ValueError:
        return None, _("Write the amount in yuan with at most two decimals, e.g. 68.50.")
    if fen <= 0:
        return None, _("The amount must be more than 0 (returns cannot be imported).")
    if fen > MAX_AMOUNT:
        return None, _("The amount is too large.")
    return fen, None


def parse_quantity(value):
    """(units, error): a whole number from 1; empty is 1."""
    text = text_of(value)
    if not text:
        return 1, None
    if not text.isdigit() or not 1 <= int(text) <= MAX_QUANTITY:
        return None, _("The quantity must be a whole number from 1 to %(max)s.") % {"max": MAX_QUANTITY}
    return int(text), None


# ---- lookups ------------------------------------------------------------------------------------------------


class _Lookups:
    """The stores in the importer's scope and the merchant's products, loaded once, so a row costs no query."""

    def __init__(self, actor, merchant):
        # Closed stores too: a historical sale may well have been made in a store closed since.
        self.store_by_code, self.stores_by_name = stores_by_code_and_name(
            actor, OrgNode.objects.filter(merchant=merchant, kind=NodeKind.STORE)
        )
        self.product_by_sku = {}
        for product in Product.objects.filter(merchant=merchant).only("id", "sku", "name", "list_price"):
            self.product_by_sku[product.sku] = product
        self.product_by_folded_sku = {sku.casefold(): p for sku, p in self.product_by_sku.items()}

    def store(self, text):
        """(store, error message): by code, else the only store of that name (closed stores count: history)."""
        store = self.store_by_code.get(text.upper())
        if store is not None:
            return store, None
        named = self.stores_by_name.get(text, [])
        if len(named) == 1:
            return named[0], None
        if named:
            return None, _("Several stores have this name; use the store code.")
        return None, _("Unknown store: no store with this code or name in your part of the organisation.")

    def product(self, sku):
        return self.product_by_sku.get(sku) or self.product_by_folded_sku.get(sku.casefold())

    def items(self, text):
        """([(product, quantity)], error message) of "SKU×2; SKU" (a missing quantity is 1)."""
        items, unknown = [], []
        for entry in (part.strip() for part in _ITEM_SPLIT.split(text)):
            if not entry:
                continue
            product, quantity = self.product(entry), 1
            if product is None and (match := _ITEM.match(entry)):
                product, quantity = self.product(match["sku"].strip()), int(match["quantity"])
                entry = match["sku"].strip()
            if product is None:
                unknown.append(entry)
            elif not 1 <= quantity <= MAX_QUANTITY:
                return None, _("The quantity must be a whole number from 1 to %(max)s.") % {
                    "max": MAX_QUANTITY
                }
            else:
                items.append((product, quantity))
        if unknown:
            return None, _("Unknown SKU: %(skus)s.") % {"skus": "、".join(unknown)}
        return items or None, None


# ---- every row ----------------------------------------------------------------------------------------------


def check_rows(job, actor, *, progress=None, now=None):
    """Check every row of the job's file; the rows to import, the rows skipped and the errors (module doc)."""
    checker = _RowChecker(job, actor, now or timezone.now())
    result = CheckResult()
    check_each_row(job, checker, result, progress)
    checker.find_members()
    good = [row for row in checker.rows if row.number not in checker.row_errors]
    result.rows, result.skipped = _without_earlier_imports(job.merchant, good)
    for number in sorted(checker.row_errors):
        result.errors.extend(
            error for _index, error in sorted(checker.row_errors[number], key=lambda p: p[0])
        )
    return result


class _RowChecker:
    """The state of one check: the columns, the lookups, the errors per row and the rows read so far."""

    def __init__(self, job, actor, now):
        self.job, self.now = job, now
        self.column_of = {target: i for i, target in enumerate(job.columns or []) if target}
        self.lookups = _Lookups(actor, job.merchant)
        self.row_errors = {}  # row number → [(column index, error)]
        self.rows = []

    def add_error(self, number, target, message, value):
        """Record an error of row `number` in the column that holds `target` (or its label, when none does)."""
        index = self.column_of.get(target)
        column = self.job.headers[index] if index is not None else label(target)
        error = {"row": number, "column": column, "value": value, "message": str(message)}
        self.row_errors.setdefault(number, []).append(
            (len(self.job.headers) if index is None else index, error)
        )

    def check_row(self, number, cells):
        """Check one row on its own; the member is looked up later, for all rows at once."""
        raw = {target: cells[i] for target, i in self.column_of.items()}
        texts = {target: text_of(value) for target, value in raw.items()}

        def fail(target, message):
            self.add_error(number, target, message, texts.get(target, ""))

        phone = ""
        if texts.get("phone"):
            try:
                phone = normalize_phone(texts["phone"])
            except InvalidValue as exc:
                fail("phone", str(exc))
        if not texts.get("member_no") and not texts.get("phone"):
            fail(
                "member_no" if "member_no" in self.column_of else "phone",
                _("Fill in the member no. or the phone."),
            )
        created_at, message = (
            parse_time(raw.get("date"), self.now) if texts.get("date") else (None, _("The time is required."))
        )
        if message:
            fail("date", message)
        amount, message = parse_amount(raw.get("amount"))
        if message:
            fail("amount", message)
        quantity, message = parse_quantity(raw.get("quantity"))
        if message:
            fail("quantity", message)
        store, message = (
            self.lookups.store(texts["store"]) if texts.get("store") else (None, _("The store is required."))
        )
        if message:
            fail("store", message)
        items, message = self.lookups.items(texts.get("items", ""))
        if message:
            fail("items", message)
        elif (
            items and texts.get("quantity") and quantity is not None and quantity != sum(n for _p, n in items)
        ):
            fail(
                "quantity",
                _("The quantity differs from the items' units (%(n)s).") % {"n": sum(n for _p, n in items)},
            )
        # Rows with errors are kept too, so that their member is looked up and reported with the rest.
        self.rows.append(
            ImportRow(
                number,
                created_at,
                amount,
                quantity,
                store,
                items,
                member_no=texts.get("member_no", ""),
                phone=phone,
            )  # fmt: skip
        )

    def find_members(self):
        """After the last row: each row's member by member no. and/or phone; a merged member's sales go to its survivor."""
        merchant = self.job.merchant
        by_no = _members(merchant, "member_no", {row.member_no for row in self.rows if row.member_no})
        by_phone = _members(merchant, "phone", {row.phone for row in self.rows if row.phone})
        for row in self.rows:
            found_by_no = by_no.get(row.member_no) if row.member_no else None
            found_by_phone = by_phone.get(row.phone) if row.phone else None
            if row.member_no and found_by_no is None:
                self.add_error(row.number, "member_no", _("No member has this member no."), row.member_no)
            if row.phone and found_by_phone is None:
                self.add_error(row.number, "phone", _("No member has this phone number."), row.phone)
            if found_by_no and found_by_phone and found_by_no != found_by_phone:
                self.add_error(
                    row.number,
                    "phone",
                    _("The member no. and the phone belong to different members."),
                    row.phone,
                )
            row.member_id = found_by_no or found_by_phone


def _members(merchant, field_name, keys):
    """{key: member id} of the merchant's members with these member nos. or phones (a merged one: its survivor)."""
    keys, found = sorted(keys), {}
    for start in range(0, len(keys), QUERY_CHUNK):
        chunk = keys[start : start + QUERY_CHUNK]
        rows = Member.objects.filter(merchant=merchant, **{f"{field_name}__in": chunk}).values_list(
            field_name, "id", "merged_into_id", "merged_into__merged_into_id"
        )
        for key, pk, survivor, survivors_survivor in rows:
            found[key] = survivors_survivor or survivor or pk
    return found


def _without_earlier_imports(merchant, rows):
    """(rows to import, skipped): a row is skipped while earlier imports hold more sales with its key than rows before it used up."""
    member_ids = sorted({row.member_id for row in rows})
    earlier = Counter()
    for start in range(0, len(member_ids), QUERY_CHUNK):
        sales = Sale.objects.filter(
            merchant=merchant, kind=SaleKind.IMPORTED, member_id__in=member_ids[start : start + QUERY_CHUNK]
        ).values_list("member_id", "created_at", "total_due", "store_id", "business_ref")
        for member_id, created_at, total_due, store_id, _ref in sales:
            earlier[(member_id, created_at, total_due, store_id)] += 1
    kept, skipped = [], []
    for row in rows:
        if earlier[row.key()] > 0:
            earlier[row.key()] -= 1
            when = timezone.localtime(row.created_at, SHANGHAI).strftime("%Y-%m-%d %H:%M")
            message = _(
                "Imported before (the same member, time %(when)s, amount ¥%(amount)s and store); skipped."
            )
            skipped.append(
                {
                    "row": row.number,
                    "message": message % {"when": when, "amount": fen_to_yuan_str(row.amount)},
                }
            )
        else:
            kept.append(row)
    return kept, skipped
