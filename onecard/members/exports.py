"""Member lists as .xlsx (M7): the rows the viewer filtered, with phone and ID numbers masked."""

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from onecard.core.masking import mask_id_number, mask_phone
from onecard.core.spreadsheets import XlsxWriter

from .models import CustomField

CHUNK_SIZE = 2000


def export_columns():
    """(header, value function) per column, headers in the request's language."""
    return [
        (_("Member no."), lambda m: m.member_no),
        (pgettext("person", "Name"), lambda m: m.name),
        (_("Type"), lambda m: str(m.get_kind_display())),
        (_("Phone"), lambda m: mask_phone(m.phone)),
        (_("ID number"), lambda m: mask_id_number(m.id_number)),
        (_("Gender"), lambda m: str(m.get_gender_display()) if m.gender else ""),
        (_("Birthday"), lambda m: m.birthday.isoformat() if m.birthday else ""),
        (_("E-mail"), lambda m: m.email),
        (_("Home store"), lambda m: m.home_store.name),
        (_("Owner"), lambda m: str(m.owner) if m.owner_id else ""),
        (_("Tags"), lambda m: "、".join(t.name for t in m.tags.all())),
        (_("Source"), lambda m: str(m.get_source_display())),
        (_("Marketing consent"), lambda m: _("Yes") if m.marketing_consent else _("No")),
        (_("Joined"), lambda m: timezone.localtime(m.created_at).strftime("%Y-%m-%d %H:%M")),
    ]


def _custom_columns(merchant_ids):
    """One column per custom field, when the export covers a single merchant."""
    if len(merchant_ids) != 1:
        return []
    columns = []
    for definition in CustomField.objects.filter(merchant_id=merchant_ids[0]):

        def value(member, key=definition.key):
            raw = (member.custom_fields or {}).get(key, "")
            if raw is True:
                return _("Yes")
            if raw is False:
                return _("No")
            return raw

        columns.append((definition.label, value))
    return columns


def build_members_xlsx(members, *, merchant_ids=(), exported=None):
    """The members of a queryset as the bytes of an .xlsx file, and how many rows it holds.

    write_only mode streams rows to the file without keeping cells in memory, so large exports stay fast.
    `exported`, a list, receives the id of every member written (for the access trail).
    """
    columns = export_columns() + _custom_columns(list(merchant_ids))
    workbook = XlsxWriter()
    sheet = workbook.sheet(_("Members"), [header for header, _value in columns])
    queryset = members.select_related("home_store", "owner").prefetch_related("tags")
    seen = exported if exported is not None else []

    def row(member):
        seen.append(member.pk)
        return [value(member) for _h, value in columns]

    rows = sheet.extend(row(m) for m in queryset.iterator(chunk_size=CHUNK_SIZE))
    return workbook.to_bytes(), rows
