"""The member-class pages: distributions and the migration matrix, the members behind each figure, settings."""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from onecard.analytics import page_counts, queries, recompute, services
from onecard.analytics.forms import AnalyticsSettingsForm
from onecard.analytics.scoring import month_start, settings_for
from onecard.core.errors import BusinessError
from onecard.core.masking import mask_phone
from onecard.core.paging import filters_query, page_of
from onecard.core.permissions import permission_required
from onecard.core.spreadsheets import XlsxWriter
from onecard.org.queries import merchant_for_request


def _month(text):
    try:
        return month_start(datetime.date.fromisoformat(f"{text}-01")) if text else None
    except ValueError:
        return None


@login_required
@permission_required(all_of=["analytics.view"])
def overview(request):
    """RFM, ABCD and life-cycle distribution of the members in scope, and how they moved since last month."""
    merchant = merchant_for_request(request)
    counts = page_counts.state_of(merchant)
    distributions = queries.class_distributions(request.user, merchant)
    field = request.GET.get("by") if request.GET.get("by") in queries.CLASS_FIELDS else "rfm_class"
    months = queries.counted_snapshot_months(counts)
    month = _month(request.GET.get("month")) or (months[0] if months else None)
    previous = month_start(month, 1) if month else None
    matrix = queries.counted_migration_matrix(request.user, merchant, month, field) if month else None
    settings = settings_for(merchant)
    return render(
        request,
        "analytics/overview.html",
        {
            "merchant": merchant,
            "rfm": distributions["rfm_class"],
            "abcd": distributions["abcd_class"],
            "stages": distributions["life_stage"],
            "scored_at": settings.scored_at,
            "counted_at": counts.refreshed_at,
            "field": field,
            "fields": [
                ("rfm_class", _("RFM class")),
                ("abcd_class", _("ABCD class")),
                ("life_stage", _("Life cycle")),
            ],
            "months": months,
            "month": month,
            "previous": previous,
            "matrix": matrix,
            "settings": settings,
            "recompute": recompute.state_of(merchant, "score"),
            "backfill": recompute.state_of(merchant, "backfill"),
            "previous_missing": bool(month) and previous not in months,
        },
    )


@login_required
@permission_required(all_of=["analytics.view"])
def members(request):
    """The members in scope in one class (now, or at a month, or moved from a class): the list behind a figure."""
    merchant = merchant_for_request(request)
    field = request.GET.get("field")
    if field not in queries.CLASS_FIELDS:
        raise Http404
    value = request.GET.get("value", "")
    month = _month(request.GET.get("month"))
    was = request.GET.get("was")
    previous = month_start(month, 1) if month and was is not None else None
    rows = queries.members_in_class(
        request.user, merchant, field, value, month=month, was=was, previous=previous
    )
    if request.GET.get("export") == "xlsx":
        return _members_xlsx(rows)
    page = page_of(request, rows, 50)
    for facts in page:
        facts.member.masked_phone = mask_phone(facts.member.phone)  # lists show phones masked (PIPL)
    label = dict(queries.CLASS_FIELDS[field].choices).get(value, "—")
    return render(
        request,
        "analytics/members.html",
        {
            "page": page,
            "query": filters_query(request.GET),
            "label": label,
            "was_label": dict(queries.CLASS_FIELDS[field].choices).get(was, "—") if was is not None else None,
            "month": month,
        },
    )


def _members_xlsx(rows):
    book = XlsxWriter()
    sheet = book.sheet(
        _("Members"),
        [_("Member no."), _("Name"), _("Phone"), _("Purchases"), _("Spend (yuan)"), _("Last purchase"),
         _("RFM class"), _("ABCD class"), _("Life-cycle stage"), _("Favourite store")],
    )  # fmt: skip
    for facts in rows.iterator(chunk_size=2000):
        member = facts.member
        sheet.append([
            member.member_no, member.name, mask_phone(member.phone),
            facts.purchases, facts.spend / 100, facts.last_purchase_at, facts.get_rfm_class_display(),
            facts.abcd_class, facts.get_life_stage_display(), facts.favourite_store.name if facts.favourite_store else "",
        ])  # fmt: skip
    return book.response("members-by-class.xlsx")


@login_required
@permission_required(all_of=["analytics.manage"])
@require_http_methods(["GET", "POST"])
def settings_page(request):
    """The merchant's scoring window, boundaries and life-cycle thresholds."""
    merchant = merchant_for_request(request)
    form = AnalyticsSettingsForm(request.POST or None, instance=settings_for(merchant))
    if request.method == "POST" and form.is_valid():
        services.save_settings(request.user, merchant, form)
        messages.success(request, _("Analytics settings saved; they apply from the next scoring."))
        return redirect("analytics:overview")
    return render(request, "analytics/settings.html", {"form": form, "merchant": merchant})


def _start_on_overview(request, kind):
    """Start a recomputation of `kind` in the background and go back to /analytics/, which shows its progress."""
    merchant = merchant_for_request(request)
    try:
        recompute.start(request.user, merchant, kind)
    except BusinessError as error:
        messages.error(request, error.message)
    return redirect(f"{reverse('analytics:overview')}?merchant={merchant.pk}")


@login_required
@permission_required(all_of=["analytics.manage"])
@require_POST
def rescore(request):
    """Start scoring every member of the merchant now (as the nightly job does); the page shows its progress."""
    return _start_on_overview(request, "score")


@login_required
@permission_required(all_of=["analytics.manage"])
@require_POST
def backfill(request):
    """Start writing the past months' snapshots that are missing; the page shows its progress."""
    return _start_on_overview(request, "backfill")


@login_required
@permission_required(all_of=["analytics.view"])
@require_GET
def recompute_progress(request, kind):
    """The progress bar of a recomputation started by hand (htmx polls it every second while it runs)."""
    if kind not in recompute.KINDS:
        raise Http404
    merchant = merchant_for_request(request)
    return render(
        request,
        "analytics/_recompute_progress.html",
        {"state": recompute.state_of(merchant, kind), "merchant": merchant, "kind": kind},
    )
