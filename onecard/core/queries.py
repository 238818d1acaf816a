"""Reads of the audit log, scoped to the viewer."""

import datetime

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import AuditEntry
from .scoping import scope_node_ids

AUDIT_SUBJECT_TYPES = [
    ("members.member", _("Member")),
    ("members.contact", _("Contact")),
    ("members.tag", _("Tag")),
    ("members.customfield", _("Custom field")),
    ("members.importjob", _("Import")),
    ("org.orgnode", _("Org node")),
    ("org.staff", _("Staff")),
    ("org.role", _("Role")),
    ("org.merchant", _("Merchant")),
    ("core.auditentry", _("Audit log")),
]

# ---- audit log -------------------------------------------------------------------------------------------


def visible_audit_entries(user):
    """Audit rows about the user's part of the organisation (merchant-wide rows too for HQ staff)."""
    ids = scope_node_ids(user)
    if ids is None:
        return AuditEntry.objects.all()
    in_scope = Q(node_id__in=ids)
    if user.node_id and user.node.parent_id is None:  # roles, tags, fields belong to the whole merchant
        in_scope |= Q(node__isnull=True, merchant_id=user.node.merchant_id)
    return AuditEntry.objects.filter(in_scope)


def local_midnight(day):
    """The start of `day` in the current time zone."""
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=timezone.get_current_timezone())


def _parse_date(value):
    try:
        return datetime.date.fromisoformat((value or "").strip())
    except ValueError:  # a malformed date filters nothing rather than failing
        return None


def filter_audit_entries(user, params):
    """The audit log as the page and its export show it: search text, action, subject type, actor, dates."""
    entries = visible_audit_entries(user)
    q = (params.get("q") or "").strip()
    if q:
        entries = entries.filter(
            Q(subject_repr__icontains=q) | Q(actor_name__icontains=q) | Q(note__icontains=q) | Q(subject_id=q)
        )
    if params.get("action"):
        entries = entries.filter(action=params["action"])
    if params.get("subject_type"):
        entries = entries.filter(subject_type=params["subject_type"])
    actor = (params.get("actor") or "").strip()
    if actor:
        entries = entries.filter(actor_name__iexact=actor)
    # Whole local days, as index ranges on `at` (no per-row date conversion).
    start, end = _parse_date(params.get("from")), _parse_date(params.get("to"))
    if start:
        entries = entries.filter(at__gte=local_midnight(start))
    if end:
        entries = entries.filter(at__lt=local_midnight(end + datetime.timedelta(days=1)))
    return entries.order_by("-id")
