"""The read-only audit log and its export."""

import json

from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from . import audit, audit_display, queries
from .models import AuditAction
from .scoping import scoped_staff
from .spreadsheets import XlsxWriter

AUDIT_PAGE_SIZE = 50
# An export is one spreadsheet; past this many rows narrow the filters (the sheet says so).
AUDIT_EXPORT_MAX_ROWS = 100_000


@login_required
@permission_required("audit.view", raise_exception=True)
@require_safe  # the log is read-only: POST, PUT, DELETE answer 405
def audit_log(request):
    """Every change, newest first, searchable and filterable; nothing here can be edited."""
    entries = queries.filter_audit_entries(request.user, request.GET)
    if request.GET.get("export") == "xlsx":
        return _audit_export(request, entries)
    page = Paginator(entries.select_related("node"), AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    export_query = query.copy()
    export_query["export"] = "xlsx"
    return render(
        request,
        "core/audit_log.html",
        {
            "page": page,
            "entries": audit_display.present(page.object_list),
            "actions": AuditAction.choices,
            "subject_types": queries.AUDIT_SUBJECT_TYPES,
            "actors": _actor_names(request.user),
            "params": request.GET,
            "query": query.urlencode(),
            "export_query": export_query.urlencode(),
            "today": timezone.localdate(),
        },
    )


@login_required
@permission_required("audit.view", raise_exception=True)
@require_safe
def audit_entry(request, pk):
    """One entry in full: every key with its label and its whole value before and after."""
    entry = get_object_or_404(queries.visible_audit_entries(request.user).select_related("node"), pk=pk)
    (entry,) = audit_display.present([entry])
    return render(request, "core/audit_entry.html", {"entry": entry, "back": request.GET.get("back", "")})


def _actor_names(user):
    """Usernames for the actor filter's suggestions: the staff in the viewer's scope."""
    return list(scoped_staff(user).order_by("username").values_list("username", flat=True)[:500])


def _audit_export(request, entries):
    """The filtered entries as an .xlsx sheet; the export itself is audited."""
    workbook = XlsxWriter()
    sheet = workbook.sheet(_("Audit log"))
    sheet.append(
        [
            _("Time"),
            _("Actor"),
            _("Action"),
            _("Subject type"),
            _("Subject id"),
            _("Subject"),
            _("Org node"),
            _("Before"),
            _("After"),
            _("Note"),
            _("IP address"),
        ]
    )
    labels = dict(AuditAction.choices)
    count = 0
    rows = entries.select_related("node")[: AUDIT_EXPORT_MAX_ROWS + 1]
    for entry in rows.iterator(chunk_size=2000):
        count += 1
        if count > AUDIT_EXPORT_MAX_ROWS:
            sheet.append([_("More entries match; narrow the filters to export the rest.")])
            count -= 1
            break
        sheet.append(
            [
                timezone.localtime(entry.at).strftime("%Y-%m-%d %H:%M:%S"),
                entry.actor_name,
                str(labels.get(entry.action, entry.action)),
                entry.subject_type,
                entry.subject_id,
                entry.subject_repr,
                entry.node.name if entry.node_id and entry.node else "",
                _json_cell(entry.before),
                _json_cell(entry.after),
                entry.note,
                entry.ip or "",
            ]
        )
    filters = {k: v for k, v in request.GET.items() if k not in ("export", "page") and v}
    user = request.user
    audit.record(
        user,
        AuditAction.EXPORT,
        subject_type="core.auditentry",
        subject_repr=_("Audit log"),
        node=user.node if user.node_id else None,
        merchant=user.merchant,
        after={"rows": count, "filters": filters},
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return workbook.response(f"audit-log-{stamp}.xlsx")


def _json_cell(value):
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)[:32000]
