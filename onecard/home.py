"""The home page: a dashboard for the user's role, with member, store and staff figures of their scope.

It reads members and the organisation (and later apps' figures), so it lives in the project package,
above the apps, and core stays at the bottom.
"""

import datetime

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.db.models import Count, Q
from django.db.models.functions import TruncMonth
from django.shortcuts import render
from django.utils import timezone

from onecard.analytics.report_builder.queries import pinned_reports
from onecard.core.masking import mask_phone
from onecard.core.queries import local_midnight
from onecard.core.scoping import scope_node_ids
from onecard.members.choices import Source
from onecard.members.models import Member
from onecard.members.queries import visible_members
from onecard.org.models import OrgNode, Staff

# How long the home page's figures may be old; a million members are not counted on every page view.
DASHBOARD_CACHE_SECONDS = getattr(settings, "ONECARD_DASHBOARD_CACHE_SECONDS", 60)


@login_required
def home(request):
    """Counts and charts that matter to the person logged in, all within their data scope."""
    return render(request, "home.html", home_dashboard(request.user))


def dashboard_kind(user):
    """Which home page suits the user: cashier, store, marketer, overview (region/HQ/admin) or basic."""
    if user.sees_everything:
        return "overview"
    if not user.has_perm("members.view") or user.node_id is None:
        return "basic"
    role_codes = {r.code for r in user.roles.all() if r.is_builtin}
    if "marketer" in role_codes and not user.has_perm("members.add"):
        return "marketer"
    if user.node.is_store:
        return "store" if user.has_perm("staff.view") else "cashier"
    return "overview"


def _months_back(today, count=12):
    first = today.replace(day=1)
    months = []
    for i in range(count - 1, -1, -1):
        year, month = divmod(first.year * 12 + first.month - 1 - i, 12)
        months.append(datetime.date(year, month + 1, 1))
    return months


def _monthly_joins(members, today):
    """New members per month for the last 12 months, in ONE grouped query on (merchant, created_at)."""
    months = _months_back(today)
    rows = (
        members.filter(created_at__gte=local_midnight(months[0]))
        .annotate(month=TruncMonth("created_at", tzinfo=timezone.get_current_timezone()))
        .order_by()
        .values("month")
        .annotate(n=Count("id"))
    )
    counts = {}
    for row in rows:
        month = row["month"]
        if isinstance(month, datetime.datetime):
            month = timezone.localtime(month).date() if timezone.is_aware(month) else month.date()
        key = month.strftime("%Y-%m")
        counts[key] = counts.get(key, 0) + row["n"]
    return [{"month": m.strftime("%Y-%m"), "n": counts.get(m.strftime("%Y-%m"), 0)} for m in months]


def _scope_cache_key(user, today):
    ids = scope_node_ids(user)
    scope_key = "all" if ids is None else (f"node{user.node_id}" if user.node_id else "none")
    return f"onecard:home:v1:{scope_key}:{today.isoformat()}"


def scope_figures(user):
    """Member, store and staff figures of the user's scope; cached per scope for DASHBOARD_CACHE_SECONDS.

    One grouped pass over the scope's members gives totals, consent, new this month, new today, per
    store and per source; one more grouped query gives the 12-month trend.
    """
    today = timezone.localdate()
    key = _scope_cache_key(user, today)
    figures = cache.get(key)
    if figures is not None:
        return figures
    ids = scope_node_ids(user)
    nodes = OrgNode.objects.all() if ids is None else OrgNode.objects.filter(id__in=ids)
    stores = dict(nodes.filter(kind="store").values_list("id", "name"))
    staff = Staff.objects.filter(is_active=True, node__isnull=False)
    if ids is not None:
        staff = staff.filter(node_id__in=ids)
    members = visible_members(user)
    month_start = local_midnight(today.replace(day=1))
    day_start = local_midnight(today)
    rows = (
        members.order_by()
        .values("home_store_id", "source")
        .annotate(
            n=Count("id"),
            consent=Count("id", filter=Q(marketing_consent=True)),
            month=Count("id", filter=Q(created_at__gte=month_start)),
            today=Count("id", filter=Q(created_at__gte=day_start)),
        )
    )
    totals = {"members": 0, "consent": 0, "new_this_month": 0, "new_today": 0}
    by_store, by_source = {}, {}
    for row in rows:
        totals["members"] += row["n"]
        totals["consent"] += row["consent"]
        totals["new_this_month"] += row["month"]
        totals["new_today"] += row["today"]
        by_store[row["home_store_id"]] = by_store.get(row["home_store_id"], 0) + row["n"]
        by_source[row["source"]] = by_source.get(row["source"], 0) + row["n"]
    store_bars = sorted(
        ({"store": name, "n": by_store.get(pk, 0)} for pk, name in stores.items()),
        key=lambda r: (-r["n"], r["store"]),
    )
    figures = {
        **totals,
        "store_count": len(stores),
        "staff_count": staff.count(),
        "by_store": store_bars[:20],
        "by_source": sorted(by_source.items(), key=lambda kv: -kv[1]),
        "trend": _monthly_joins(members, today),
    }
    cache.set(key, figures, DASHBOARD_CACHE_SECONDS)
    return figures


def _todays_new_members(user, limit=10):
    """Today's joiners at the user's store: a live count and the newest few (never cached: the cashier
    has just added one)."""
    today = visible_members(user).filter(
        home_store_id=user.node_id, created_at__gte=local_midnight(timezone.localdate())
    )
    rows = today.order_by("-created_at", "-id").values("id", "name", "member_no", "phone", "created_at")[
        :limit
    ]
    return today.count(), [{**r, "phone": mask_phone(r["phone"])} for r in rows]


def home_dashboard(user):
    """Context of the home page for the user's role, all within their data scope."""
    kind = dashboard_kind(user)
    can_see_members = user.has_perm("members.view")
    figures = scope_figures(user)
    context = {
        "kind": kind,
        "can_see_members": can_see_members,
        "store_count": figures["store_count"],
        "staff_count": figures["staff_count"],
        "pinned_reports": list(pinned_reports(user)),
    }
    if not can_see_members:
        return context
    total = figures["members"]
    labels = dict(Source.choices)
    context.update(
        {
            "member_count": total,
            "new_this_month": figures["new_this_month"],
            "new_today": figures["new_today"],
            "consent_count": figures["consent"],
            "consent_rate": round(100 * figures["consent"] / total, 1) if total else 0,
            "by_store": figures["by_store"],
            "by_source": [
                {
                    "source": str(labels.get(code, code)),
                    "n": n,
                    "pct": round(100 * n / total, 1) if total else 0,
                }
                for code, n in figures["by_source"]
            ],
            "trend": figures["trend"],
        }
    )
    if user.node_id:
        context["my_members"] = Member.objects.filter(owner=user, status="active").count()
    if kind in ("cashier", "store") and user.node_id:
        context["new_today"], context["todays_members"] = _todays_new_members(user)
    return context
