"""Home page (a dashboard for the user's role) and the read-only audit log."""

import contextlib
import datetime

from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import render
from django.utils import timezone

from . import queries
from .models import AuditAction


@login_required
def home(request):
    """Counts and charts that matter to the person logged in, all within their data scope."""
    return render(request, "core/home.html", queries.home_dashboard(request.user))


@login_required
@permission_required("audit.view", raise_exception=True)
def audit_log(request):
    """Every change, newest first, searchable; nothing here can be edited."""
    entries = queries.visible_audit_entries(request.user)
    params = request.GET
    if params.get("q"):
        q = params["q"].strip()
        entries = entries.filter(
            Q(subject_repr__icontains=q) | Q(actor_name__icontains=q) | Q(note__icontains=q) | Q(subject_id=q)
        )
    if params.get("action"):
        entries = entries.filter(action=params["action"])
    if params.get("subject_type"):
        entries = entries.filter(subject_type=params["subject_type"])
    if params.get("actor"):
        entries = entries.filter(actor_name=params["actor"])
    for key, lookup in (("from", "at__date__gte"), ("to", "at__date__lte")):
        if params.get(key):
            with contextlib.suppress(ValueError):  # a malformed date filters nothing rather than failing
                entries = entries.filter(**{lookup: datetime.date.fromisoformat(params[key])})
    page = Paginator(entries.select_related("node"), 50).get_page(params.get("page"))
    query = params.copy()
    query.pop("page", None)
    return render(
        request,
        "core/audit_log.html",
        {
            "page": page,
            "actions": AuditAction.choices,
            "subject_types": queries.AUDIT_SUBJECT_TYPES,
            "params": params,
            "query": query.urlencode(),
            "today": timezone.localdate(),
        },
    )
