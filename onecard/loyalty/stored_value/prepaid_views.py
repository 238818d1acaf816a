"""Pages of the prepaid-card rules under /prepaid/: settings, store flags, custody, agreements, acceptance.

Thin: parse, check the permission, call prepaid_rules, render. Settings, store flags and agreement
versions need prepaid.manage (head office by default); recording a member's acceptance needs the
cashier's till.operate or members.change, for a member of the staff's own merchant.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from onecard.core.errors import BusinessError
from onecard.core.flash import call_and_flash
from onecard.core.money import fen_to_yuan_str
from onecard.core.permissions import require_perms
from onecard.core.scoping import scope_node_ids
from onecard.loyalty.cards.services import cards_visible_to
from onecard.loyalty.models.prepaid import AgreementVersion, PrepaidStoreStatus
from onecard.loyalty.stored_value import prepaid_rules
from onecard.loyalty.stored_value.prepaid_forms import (
    YUAN_FIELDS,
    AcceptAgreementForm,
    PrepaidSettingsForm,
    PublishAgreementForm,
    StoreStatusForm,
)
from onecard.members.models import Member
from onecard.org.choices import NodeKind
from onecard.org.forms import apply_service_errors
from onecard.org.models import Merchant, OrgNode
from onecard.org.queries import merchant_for_request

MANAGE = "prepaid.manage"


def _with_merchant(request, url, merchant):
    return f"{url}?merchant={merchant.pk}" if request.user.sees_everything else url


def _stores(user, merchant):
    """The merchant's stores in the user's scope, each with its prepaid status (or None)."""
    stores = OrgNode.objects.filter(merchant=merchant, kind=NodeKind.STORE).order_by("path")
    ids = scope_node_ids(user)
    if ids is not None:
        stores = stores.filter(id__in=ids)
    statuses = {row.store_id: row for row in PrepaidStoreStatus.objects.filter(store__in=stores)}
    today = prepaid_rules.shanghai_today()
    rows = []
    for store in stores:
        status = statuses.get(store.pk)
        blocked = prepaid_rules.store_refusal(store, today) is not None if status else False
        rows.append({"store": store, "status": status, "blocked": blocked})
    return rows


def _settings_initial(row):
    return {name: getattr(row, name) for name in PrepaidSettingsForm.base_fields}


def _custody(request, merchant):
    quarter = request.GET.get("quarter") or prepaid_rules.last_closed_quarter()
    try:
        report = prepaid_rules.custody_report(merchant, quarter)
    except BusinessError as exc:
        messages.error(request, str(exc.message))
        report = prepaid_rules.custody_report(merchant, prepaid_rules.last_closed_quarter())
    return {
        "report": report,
        "outstanding": fen_to_yuan_str(report.outstanding_principal),
        "custodied": fen_to_yuan_str(report.custodied),
        "required": fen_to_yuan_str(report.required),
        "ratio_pct": None if report.ratio is None else f"{report.ratio * 100:.2f}",
        "alert_pct": f"{report.alert_ratio * 100:.1f}",
    }


@login_required
@require_http_methods(["GET", "POST"])
def settings_page(request):
    """/prepaid/: the merchant's prepaid rules, its stores' risk flags and the quarterly custody report."""
    require_perms(request.user, MANAGE)
    merchant = merchant_for_request(request)
    row = prepaid_rules.prepaid_settings(merchant)
    form = PrepaidSettingsForm(request.POST or None, initial=_settings_initial(row))
    if request.method == "POST" and form.is_valid():
        try:
            prepaid_rules.update_settings(request.user, merchant, **form.cleaned_data)
        except BusinessError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("The prepaid-card rules were saved."))
            return redirect(_with_merchant(request, reverse("prepaid:settings"), merchant))
    context = {
        "merchant": merchant,
        "merchants": Merchant.objects.order_by("pk") if request.user.sees_everything else [],
        "form": form,
        "stores": _stores(request.user, merchant),
        "current_agreement": prepaid_rules.current_agreement(merchant),
        "yuan_fields": YUAN_FIELDS,
        **_custody(request, merchant),
    }
    return render(request, "loyalty/prepaid/settings.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def store_status(request, pk):
    """Set or clear a store's major-risk flag and closure date."""
    require_perms(request.user, MANAGE)
    ids = scope_node_ids(request.user)
    stores = OrgNode.objects.filter(kind=NodeKind.STORE)
    store = (stores if ids is None else stores.filter(id__in=ids)).filter(pk=pk).first()
    if store is None:
        raise Http404
    form = StoreStatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(m) for errors in form.errors.values() for m in errors))
    else:
        call_and_flash(
            request,
            lambda: prepaid_rules.set_store_status(request.user, store, **form.cleaned_data),
            _("%(name)s was saved.") % {"name": store.name},
        )
    return redirect(_with_merchant(request, reverse("prepaid:settings"), store.merchant))


@login_required
@require_http_methods(["GET", "POST"])
def agreements(request):
    """储值协议: every published version, newest first, and a form to publish the next one."""
    require_perms(request.user, MANAGE)
    merchant = merchant_for_request(request)
    current = prepaid_rules.current_agreement(merchant)
    form = PublishAgreementForm(request.POST or None, initial={"text": current.text if current else ""})
    if request.method == "POST" and form.is_valid():
        try:
            version = prepaid_rules.publish_agreement(request.user, merchant, form.cleaned_data["text"])
        except BusinessError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(
                request,
                _("Version %(version)s is published; members accept it before their next top-up.")
                % {"version": version.version},
            )
            void = prepaid_rules.void_clauses(version.text)
            if void:
                messages.warning(
                    request,
                    _(
                        "The text contains %(phrases)s: such no-refund clauses are void under the prepaid-card rules."
                    )
                    % {"phrases": "、".join(void)},
                )
            return redirect(_with_merchant(request, reverse("prepaid:agreements"), merchant))
    versions = (
        AgreementVersion.objects.filter(merchant=merchant)
        .select_related("published_by")
        .annotate(accepted_count=Count("acceptances"))
    )
    return render(
        request,
        "loyalty/prepaid/agreements.html",
        {"merchant": merchant, "versions": versions, "form": form, "current": current},
        status=400 if form.errors else 200,
    )


def _safe_next(request, default):
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


def _member_for_acceptance(request, member_id):
    members = Member.objects.select_related("merchant", "home_store")
    if not request.user.sees_everything:
        if request.user.merchant is None:
            raise Http404
        members = members.filter(merchant=request.user.merchant)
    member = members.filter(pk=member_id).first()
    if member is None:
        raise Http404
    return member


def render_current_agreement(request, member, *, next_url="", form=None, status=200):
    """The page that shows a member the merchant's current agreement, with the button that records acceptance."""
    version = prepaid_rules.current_agreement(member.merchant_id)
    accepted = prepaid_rules.accepted_version(member, version) if version is not None else None
    form = form or AcceptAgreementForm(initial={"version": version.pk if version else 0})
    context = {
        "member": member,
        "version": version,
        "accepted": accepted,
        "form": form,
        "next": next_url,
    }
    return render(request, "loyalty/prepaid/accept.html", context, status=status)


def accept_url(member, next_url="") -> str:
    """Where the cashier screen links to have `member` accept the current agreement (then back to next_url)."""
    url = reverse("prepaid:accept", args=[member.pk])
    if next_url:
        url = f"{url}?{urlencode({'next': next_url})}"
    return url


def agreement_panel_context(member, next_url="") -> dict:
    """What the cashier panel needs for loyalty/prepaid/_agreement_notice.html: the pending version and its link."""
    pending = prepaid_rules.needs_acceptance(member)
    return {
        "agreement_pending": pending,
        "agreement_accept_url": accept_url(member, next_url) if pending is not None else "",
    }


@login_required
@require_http_methods(["GET", "POST"])
def accept(request, member_id):
    """GET: the current agreement for the member to read; POST: record the acceptance, back to ?next=."""
    require_perms(request.user, "till.operate", "members.change", any_of=True)
    member = _member_for_acceptance(request, member_id)
    default = reverse("members:detail", args=[member.pk])
    next_url = _safe_next(request, default)
    if request.method == "GET":
        return render_current_agreement(request, member, next_url=next_url)
    form = AcceptAgreementForm(request.POST)
    if not form.is_valid():
        return render_current_agreement(request, member, next_url=next_url, form=form, status=400)
    current = prepaid_rules.current_agreement(member.merchant_id)
    if current is None or current.pk != form.cleaned_data["version"]:
        # A newer version was published while the page was open: the member must read that one.
        messages.error(
            request, _("A newer version of the agreement was published; show it to the member first.")
        )
        return render_current_agreement(request, member, next_url=next_url, status=409)
    try:
        prepaid_rules.accept_agreement(request.user, member, channel=form.cleaned_data["channel"])
    except BusinessError as exc:
        messages.error(request, str(exc.message))
        return render_current_agreement(request, member, next_url=next_url, status=400)
    messages.success(
        request,
        _("%(name)s accepted version %(version)s of the top-up agreement.")
        % {"name": member.name, "version": current.version},
    )
    return redirect(next_url)


@login_required
@require_GET
def refund_quote(request, card_id):
    """The refund calculation of a card's balance for ?reason=member_request|merchant_fault, as the receipt shows it."""
    require_perms(request.user, "cards.cancel", MANAGE, any_of=True)
    card = cards_visible_to(request.user).filter(pk=card_id).first()
    if card is None:
        raise Http404
    reason = request.GET.get("reason") or "member_request"
    try:
        quote = prepaid_rules.balance_refund_quote(card, reason)
    except BusinessError as exc:
        messages.error(request, str(exc.message))
        return redirect(f"{reverse('prepaid:refund_quote', args=[card.pk])}?reason=member_request")
    return render(
        request,
        "loyalty/prepaid/refund_quote.html",
        {"card": card, "quote": quote, "refundable": fen_to_yuan_str(quote.refundable), "reason": reason},
    )
