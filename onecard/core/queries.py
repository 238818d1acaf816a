"""Reads for the home dashboard and the audit log, scoped to the viewer."""

import datetime

from django.db.models import Count, Q
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
]


def visible_audit_entries(user):
    """Audit rows about the user's part of the organisation (merchant-wide rows too for HQ staff)."""
    ids = scope_node_ids(user)
    if ids is None:
        return AuditEntry.objects.all()
    in_scope = Q(node_id__in=ids)
    if user.node_id and user.node.parent_id is None:  # roles, tags, fields belong to the whole merchant
        in_scope |= Q(node__isnull=True, merchant_id=user.node.merchant_id)
    return AuditEntry.objects.filter(in_scope)


def home_dashboard(user):
    """Figures for the home page: members, new members, consent, stores, staff; plus a 12-month trend."""
    from onecard.members.queries import visible_members
    from onecard.org.models import OrgNode, Staff

    ids = scope_node_ids(user)
    members = visible_members(user)
    today = timezone.localdate()
    month_start = today.replace(day=1)
    tz = timezone.get_current_timezone()
    start_of_month = datetime.datetime.combine(month_start, datetime.time.min, tzinfo=tz)
    nodes = OrgNode.objects.all() if ids is None else OrgNode.objects.filter(id__in=ids)
    staff = Staff.objects.filter(is_active=True)
    if ids is not None:
        staff = staff.filter(node_id__in=ids)
    can_see_members = user.has_perm("members.view")
    context = {
        "store_count": nodes.filter(kind="store").count(),
        "staff_count": staff.count(),
        "can_see_members": can_see_members,
    }
    if can_see_members:
        context.update(
            {
                "member_count": members.count(),
                "new_this_month": members.filter(created_at__gte=start_of_month).count(),
                "consent_count": members.filter(marketing_consent=True).count(),
                "my_members": members.filter(owner=user).count(),
                "by_source": list(members.values("source").annotate(n=Count("id")).order_by("-n")),
                "by_store": list(
                    members.values("home_store__name").annotate(n=Count("id")).order_by("-n")[:12]
                ),
            }
        )
        context["trend"] = _monthly_joins(members, today)
    return context


def _monthly_joins(members, today):
    """New members per month for the last 12 months (one query per month keeps it portable and indexed)."""
    tz = timezone.get_current_timezone()
    months = []
    first = today.replace(day=1)
    for i in range(11, -1, -1):
        year, month = divmod(first.year * 12 + first.month - 1 - i, 12)
        months.append(datetime.date(year, month + 1, 1))
    rows = []
    for i, start in enumerate(months):
        end = months[i + 1] if i + 1 < len(months) else None
        qs = members.filter(created_at__gte=datetime.datetime.combine(start, datetime.time.min, tzinfo=tz))
        if end:
            qs = qs.filter(created_at__lt=datetime.datetime.combine(end, datetime.time.min, tzinfo=tz))
        rows.append({"month": start.strftime("%Y-%m"), "n": qs.count()})
    return rows
