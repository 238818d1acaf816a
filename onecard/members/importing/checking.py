"""Checking every row of an import: the same rules as the member form, plus store, tags, owner, duplicates."""

import re
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from onecard.core.errors import BusinessError
from onecard.core.scoping import node_in_scope, scope_node_ids
from onecard.org.choices import NodeKind
from onecard.org.models import OrgNode, Staff

from ..choices import Source
from ..models import Member, Tag
from ..validation import clean_member_input
from .files import date_or_text, is_blank, text_of
from .lifecycle import check_each_row
from .mapping import REQUIRED_TARGETS, custom_field_definitions, target_label

# SQLite allows 999 parameters per statement; 900 phones leave room for the merchant id.
PHONE_QUERY_CHUNK = 900
# Fields passed to clean_member_input as they are (birthday keeps an Excel date as a date).
_PLAIN_FIELDS = ("name", "phone", "gender", "birthday", "address", "id_number", "email", "notes")
_SOURCE_ALIASES = {
    "store": Source.STORE,
    "门店": Source.STORE,
    "到店": Source.STORE,
    "campaign": Source.CAMPAIGN,
    "活动": Source.CAMPAIGN,
    "referral": Source.REFERRAL,
    "推荐": Source.REFERRAL,
    "转介绍": Source.REFERRAL,
    "online": Source.ONLINE,
    "线上": Source.ONLINE,
    "网络": Source.ONLINE,
    "import": Source.IMPORT,
    "导入": Source.IMPORT,
}
_YES = {"是", "同意", "yes", "y", "1", "true", "√"}
_NO = {"否", "不同意", "no", "n", "0", "false", ""}
_TAG_SPLIT = re.compile(r"[,，、;；|]")


def default_store_of(job):
    store_id = (job.mapping or {}).get("default_store")
    return OrgNode.objects.filter(pk=store_id, merchant=job.merchant).first() if store_id else None


# ---- checking ----------------------------------------------------------------------------------------------


@dataclass
class CheckResult:
    """The outcome of checking every row: the rows to insert and the errors of the others."""

    total: int = 0
    valid: list = field(default_factory=list)  # (row number, member fields for insert_members)
    errors: list = field(default_factory=list)  # {"row", "column", "value", "message"}, by row then column

    @property
    def error_rows(self):
        return len({e["row"] for e in self.errors})


class _Lookups:
    """Stores, tags and staff of the merchant, loaded once, so a row costs no query."""

    def __init__(self, actor, merchant):
        self.store_by_code, self.stores_by_name = stores_by_code_and_name(
            actor, OrgNode.objects.filter(merchant=merchant, kind=NodeKind.STORE, is_active=True)
        )
        self.tags = dict(Tag.objects.filter(merchant=merchant).values_list("name", "id"))
        self.tags_folded = {name.casefold(): pk for name, pk in self.tags.items()}
        staff = Staff.objects.filter(node__merchant=merchant, is_active=True)
        self.staff_by_username = {s.username.casefold(): s for s in staff}
        self.staff_by_name = {}
        for s in staff:
            if s.display_name:
                self.staff_by_name.setdefault(s.display_name.strip(), []).append(s)

    def store(self, text):
        """(store, error message)."""
        return _by_key_or_unique_name(
            self.store_by_code.get(text.upper()),
            self.stores_by_name.get(text, []),
            ambiguous=_("Several stores have this name; use the store code."),
            unknown=_("Unknown store: no store with this code or name in your part of the organisation."),
        )

    def tag_ids(self, text):
        ids, unknown = [], []
        for name in (n.strip() for n in _TAG_SPLIT.split(text)):
            if not name:
                continue
            pk = self.tags.get(name) or self.tags_folded.get(name.casefold())
            if pk is None:
                unknown.append(name)
            elif pk not in ids:
                ids.append(pk)
        return ids, (_("Unknown tag: %(names)s.") % {"names": "、".join(unknown)} if unknown else None)

    def owner(self, text):
        """(staff member, error message)."""
        return _by_key_or_unique_name(
            self.staff_by_username.get(text.casefold()),
            self.staff_by_name.get(text, []),
            ambiguous=_("Several staff have this name; use the username."),
            unknown=_("Unknown staff member: use an active username or display name."),
        )


def _by_key_or_unique_name(found_by_key, named, *, ambiguous, unknown):
    """(record, error message): the record found by its code, else the only one of that name."""
    if found_by_key is not None:
        return found_by_key, None
    if len(named) == 1:
        return named[0], None
    return None, ambiguous if named else unknown


def _parse_consent(text):
    folded = text.casefold()
    if folded in _YES:
        return True, None
    if folded in _NO:
        return False, None
    return False, _("Write yes or no (是/否).")


def _parse_source(text):
    if not text:
        return Source.IMPORT, None
    source = _SOURCE_ALIASES.get(text.casefold())
    if source is None:
        for value, label in Source.choices:
            if text.casefold() == str(label).casefold():
                source = value
    if source is None:
        return Source.IMPORT, _("Unknown source; use one of: %(choices)s.") % {
            "choices": "、".join(str(label) for _v, label in Source.choices)
        }
    return source, None


def _require_usable_mapping(job, columns, default_store):
    mapped = set(columns)
    missing = [target_label(t) for t in REQUIRED_TARGETS if t not in mapped]
    if missing:
        raise BusinessError(
            _("Choose a column for: %(fields)s.") % {"fields": "、".join(missing)}, code="import_mapping"
        )
    if "store" not in mapped and default_store is None:
        raise BusinessError(
            _("Choose a default store, or a column that names the store."), code="import_mapping"
        )


def stores_by_code_and_name(actor, stores):
    """Those of `stores` in the actor's scope (all without an actor), by upper-case code and by name (a name may repeat)."""
    ids = scope_node_ids(actor) if actor is not None else None
    if ids is not None:
        stores = stores.filter(id__in=ids)
    by_code, by_name = {}, {}
    for store in stores:
        by_code[store.code.strip().upper()] = store
        by_name.setdefault(store.name.strip(), []).append(store)
    return by_code, by_name


def check_rows(job, actor, *, progress=None):
    """Check every row of the job's file with its mapping; reads the database, changes nothing."""
    default_store = default_store_of(job)
    if default_store is not None and actor is not None and not node_in_scope(actor, default_store):
        default_store = None
    _require_usable_mapping(job, list((job.mapping or {}).get("columns") or []), default_store)
    checker = _RowChecker(job, actor, default_store)
    result = CheckResult()
    check_each_row(job, checker, result, progress)
    checker.check_existing_phones()
    result.valid = [
        (number, member) for number, member in checker.candidates if number not in checker.row_errors
    ]
    for number in sorted(checker.row_errors):
        errors = sorted(checker.row_errors[number], key=lambda pair: pair[0])
        result.errors.extend(error for _index, error in errors)
    return result


class _RowChecker:
    """The state of one check: the mapping, the lookups, the errors per row and the phones seen so far."""

    def __init__(self, job, actor, default_store):
        self.job, self.default_store = job, default_store
        self.columns = list((job.mapping or {}).get("columns") or [])
        self.definitions = custom_field_definitions(job.merchant)
        self.lookups = _Lookups(actor, job.merchant)
        self.column_of = {target: i for i, target in enumerate(self.columns) if target}
        self.custom_columns = [
            (t[len("custom:") :], i) for t, i in self.column_of.items() if t.startswith("custom:")
        ]
        self.source_tag = f"import #{job.pk}"
        self.row_errors = {}  # row number → [(column index, error)]
        self.first_row_of_phone = {}
        self.rows_of_phone = {}  # phone → [(row number, the cell as written)], checked against the database last
        self.candidates = []

    def add_error(self, number, target, message, value):
        """Record an error of row `number` in the column mapped to `target`."""
        index = self.column_of.get(target)
        if index is not None:
            column = self.job.headers[index]
        else:
            column = target_label(target, definitions=self.definitions)
        error = {"row": number, "column": column, "value": value, "message": str(message)}
        self.row_errors.setdefault(number, []).append((len(self.columns) if index is None else index, error))

    def check_row(self, number, cells):
        """Check one row; a row without errors becomes a candidate for insert_members."""
        texts = {target: text_of(cells[i]) for target, i in self.column_of.items()}

        def fail(target, message):
            self.add_error(number, target, message, texts.get(target, ""))

        cleaned, field_errors = self._member_fields(cells, texts, fail)
        links = self._links(texts, fail)
        phone = cleaned.get("phone") if "phone" not in field_errors else None
        if phone:
            first = self.first_row_of_phone.setdefault(phone, number)
            if first != number:
                fail("phone", _("Duplicate of row %(row)s in this file.") % {"row": first})
            self.rows_of_phone.setdefault(phone, []).append((number, texts["phone"]))
        if number in self.row_errors:
            return
        store, tag_ids, owner, consent = links
        member = {**cleaned, "home_store": store, "tag_ids": tag_ids, "marketing_consent": consent}
        if "owner" in self.column_of:
            member["owner"] = owner
        if consent:
            member["consent_source"] = self.source_tag
        self.candidates.append((number, member))

    def _member_fields(self, cells, texts, fail):
        """The member's own fields, cleaned as the member form cleans them: (cleaned, errors)."""
        column_of = self.column_of
        data = {key: date_or_text(cells[column_of[key]]) for key in _PLAIN_FIELDS if key in column_of}
        data["custom_fields"] = {
            key: date_or_text(cells[i]) for key, i in self.custom_columns if not is_blank(cells[i])
        }
        data["source"], source_error = _parse_source(texts.get("source", ""))
        cleaned, errors = clean_member_input(data, definitions=self.definitions)
        for key, message in errors.items():
            fail(
                f"custom:{key[len('custom_fields.') :]}" if key.startswith("custom_fields.") else key,
                message,
            )
        if source_error:
            fail("source", source_error)
        return cleaned, errors

    def _links(self, texts, fail):
        """The row's store, tag ids, owner and consent, looked up without a query: (store, tags, owner, consent)."""
        store = self.default_store
        if texts.get("store"):
            store, message = self.lookups.store(texts["store"])
            if message:
                fail("store", message)
        elif store is None:
            fail("store", _("A store is required: fill in this column or choose a default store."))
        tag_ids, message = self.lookups.tag_ids(texts.get("tags", ""))
        if message:
            fail("tags", message)
        owner = None
        if texts.get("owner"):
            owner, message = self.lookups.owner(texts["owner"])
            if message:
                fail("owner", message)
        consent, message = _parse_consent(texts.get("consent", ""))
        if message:
            fail("consent", message)
        return store, tag_ids, owner, consent

    def check_existing_phones(self):
        """After the last row: a phone that already has a member is an error on every row that carries it."""
        for phone, member_no in _existing_phones(self.job.merchant, list(self.rows_of_phone)).items():
            message = _("This phone number already belongs to member %(no)s.") % {"no": member_no}
            for number, value in self.rows_of_phone[phone]:
                self.add_error(number, "phone", message, value)


def _existing_phones(merchant, phones):
    """{phone: member no.} of the phones that already have a member (a merged one names its survivor)."""
    found = {}
    for start in range(0, len(phones), PHONE_QUERY_CHUNK):
        chunk = phones[start : start + PHONE_QUERY_CHUNK]
        for phone, member_no, survivor_no in Member.objects.filter(
            merchant=merchant, phone__in=chunk
        ).values_list("phone", "member_no", "merged_into__member_no"):
            found[phone] = survivor_no or member_no
    return found
