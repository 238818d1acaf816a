"""Coupon pages under /coupons/: templates (list, create, edit), issuing, the coupon list and a coupon's page.

Thin views: they check the permission (promotions.view to look, promotions.manage to change templates,
coupons.issue to issue), scope what they show by org node (`coupon_queries.visible_templates` /
`visible_coupons`), and call the services. A bulk issue is two steps: the uploaded list is read and
checked (a dry run: who it names, unknown rows, members over the limit or out of reach), the member
ids wait in the session, and a confirm issues them all in one batch.
"""

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as Forbidden
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from onecard.core.errors import BusinessError, ValidationFailed
from onecard.core.lookups import first_or_404
from onecard.core.money import fen_to_yuan_str
from onecard.core.object_views import ObjectEditView
from onecard.core.paging import filters_query, page_of
from onecard.core.permissions import require_perms
from onecard.core.scoping import scope
from onecard.loyalty.cards.barcodes import code128_svg, qr_svg
from onecard.members.models import Member
from onecard.org.choices import NodeKind
from onecard.org.models import OrgNode

from . import coupon_queries, coupon_templates, coupons
from .coupon_choices import CouponKind, CouponStatus, IssueHow
from .coupon_codes import display_code, normalize_code
from .coupon_errors import CouponMemberNotFound
from .coupon_forms import (
    VALUE_FIELD,
    CouponFilterForm,
    CouponTemplateForm,
    IssueByHandForm,
    IssueFileForm,
    initial_of,
)
from .models import CouponTemplate

PAGE_SIZE = 50
SESSION_BULK = "coupon_bulk"


def _template_or_404(user, pk) -> CouponTemplate:
    return first_or_404(coupon_queries.visible_templates(user).filter(pk=pk), _("No such coupon template."))


def describe(template) -> str:
    """What the coupon gives, in words: "¥20.00 off from ¥100.00", "85% of the price (at most ¥50.00)"."""
    if template.kind == CouponKind.CASH:
        text = _("¥%(amount)s off") % {"amount": fen_to_yuan_str(template.value)}
    elif template.kind == CouponKind.DISCOUNT:
        text = _("%(rate)s%% of the price") % {"rate": f"{template.value / 10:g}"}
        if template.cap:
            text += " " + _("(at most ¥%(cap)s off)") % {"cap": fen_to_yuan_str(template.cap)}
    elif template.kind == CouponKind.GIFT:
        text = _("Product #%(id)s free") % {"id": template.gift_product_id}
    else:
        text = _("%(n)s uses") % {"n": template.value}
    if template.min_spend:
        text += " · " + _("from ¥%(amount)s") % {"amount": fen_to_yuan_str(template.min_spend)}
    return text


# ---- templates ---------------------------------------------------------------------------------------------


@login_required
@require_GET
def template_list(request):
    """The coupon templates the user may see, with how many coupons were issued and redeemed."""
    require_perms(request.user, "promotions.view")
    templates = coupon_queries.visible_templates(request.user).annotate(
        issued=Count("coupons"), redeemed=Count("coupons", filter=Q(coupons__status=CouponStatus.REDEEMED))
    )
    rows = [
        {"t": t, "gives": describe(t), "can_manage": coupon_queries.can_manage(request.user, t)}
        for t in templates.order_by("-active", "name")
    ]
    return render(request, "promotions/coupons/templates.html", {"rows": rows})


def _owner_nodes(user):
    nodes = OrgNode.objects.filter(kind__in=[NodeKind.HQ, NodeKind.REGION], is_active=True).order_by("path")
    return scope(nodes, user, "pk")


def _stores(user):
    stores = OrgNode.objects.filter(kind=NodeKind.STORE, is_active=True).order_by("path")
    return scope(stores, user, "pk")


class TemplateEdit(ObjectEditView):
    """Create (no pk) or edit a coupon template owned by a node in the user's scope."""

    permissions = ("promotions.manage",)
    not_found = gettext_lazy("No such coupon template.")
    form_class = CouponTemplateForm
    template_name = "promotions/coupons/template_form.html"
    object_name = "template"
    success_url = "coupons:templates"
    success_message = gettext_lazy("Coupon template %(name)s saved.")
    invalid_status = 400

    def get_merchant(self):
        return None  # a template belongs to its owner node's merchant, picked on the form

    def get_queryset(self):
        return coupon_queries.visible_templates(self.user)

    def setup_object(self):
        super().setup_object()
        if self.object is not None and not coupon_queries.can_manage(self.user, self.object):
            raise Forbidden("promotions.manage")

    def form_kwargs(self):
        merchant = self.object.merchant if self.object else self.user.merchant
        return {"nodes": _owner_nodes(self.user), "stores": _stores(self.user), "merchant": merchant}

    def initial(self):
        return initial_of(self.object) if self.object else None

    def save(self, form):
        fields, stores = form.service_fields(), form.cleaned_data["stores"]
        if self.object is not None:
            return coupon_templates.update_template(self.user, self.object, stores=stores, **fields)
        node = form.cleaned_data["node"]
        return coupon_templates.create_template(self.user, node.merchant, node=node, stores=stores, **fields)

    def refused(self, form, exc):
        if isinstance(exc, ValidationFailed):
            # The service names the kind's amount "value"; the form has one field per kind for it.
            value_field = VALUE_FIELD.get(form.cleaned_data.get("kind"))
            exc = ValidationFailed({value_field if k == "value" else k: v for k, v in exc.errors.items()})
        super().refused(form, exc)


# ---- issuing -----------------------------------------------------------------------------------------------


def _issue_context(template, **extra):
    context = {
        "template": template,
        "gives": describe(template),
        "hand_form": IssueByHandForm(),
        "file_form": IssueFileForm(),
        "recent": template.issues.select_related("actor").order_by("-id")[:10],
    }
    context.update(extra)
    return context


@login_required
@require_http_methods(["GET", "POST"])
def issue(request, pk):
    """Issue coupons of a template: to one member by phone/member no., or to a list file (check, then confirm)."""
    user = request.user
    require_perms(user, "coupons.issue")
    template = _template_or_404(user, pk)
    page = "promotions/coupons/issue.html"
    if request.method == "GET":
        return render(request, page, _issue_context(template))
    action = request.POST.get("action")
    try:
        if action == "hand":
            form = IssueByHandForm(request.POST)
            if not form.is_valid():
                return render(request, page, _issue_context(template, hand_form=form), status=400)
            member = _member_in_scope(user, template, form.cleaned_data["member"])
            coupon = coupons.issue_by_hand(user, template, member)
            messages.success(
                request,
                _("Coupon %(code)s issued to %(name)s.")
                % {"code": display_code(coupon.code), "name": member.name},
            )
            return redirect("coupons:coupon", code=coupon.code)
        if action == "check":
            return _check_file(request, template)
        if action == "confirm":
            return _confirm_file(request, template)
    except BusinessError as exc:
        messages.error(request, str(exc.message))
        return render(request, page, _issue_context(template), status=400)
    raise Http404(_("Unknown action."))


def _member_in_scope(user, template, text):
    member = coupon_queries.find_member(template.merchant, text)
    if member is None or not scope(Member.objects.filter(pk=member.pk), user, "home_store").exists():
        raise CouponMemberNotFound()
    return member


def _check_file(request, template):
    form = IssueFileForm(request.POST, request.FILES)
    page = "promotions/coupons/issue.html"
    if not form.is_valid():
        return render(request, page, _issue_context(template, file_form=form), status=400)
    upload = form.cleaned_data["file"]
    report = coupons.read_segment_file(template.merchant, upload, upload.name)
    problems = coupons.check_bulk(request.user, template, report.members)
    token = uuid.uuid4().hex
    blocked = bool(
        problems["refusal"] or problems["out_of_reach"] or problems["over_limit"] or not report.members
    )
    if not blocked:
        request.session[SESSION_BULK] = {
            "token": token,
            "template": template.pk,
            "members": [m.pk for m in report.members],
            "name": upload.name[:100],
        }
    context = _issue_context(
        template, report=report, problems=problems, token=token, blocked=blocked, file_name=upload.name
    )
    return render(request, page, context)


def _confirm_file(request, template):
    stash = request.session.get(SESSION_BULK) or {}
    if stash.get("token") != request.POST.get("token") or stash.get("template") != template.pk:
        messages.error(request, _("This check has expired; upload the list again."))
        return redirect("coupons:issue", pk=template.pk)
    members = Member.objects.select_related("home_store").in_bulk(stash["members"])
    ordered = [members[pk] for pk in stash["members"] if pk in members]
    batch = coupons.issue_bulk(request.user, template, ordered, how=IssueHow.FILE, note=stash["name"])
    del request.session[SESSION_BULK]
    messages.success(request, _("%(n)s coupons issued.") % {"n": batch.count})
    return redirect(f"{reverse('coupons:list')}?template={template.pk}")


# ---- coupons -----------------------------------------------------------------------------------------------


@login_required
@require_GET
def coupon_list(request):
    """Coupons in scope, filtered by template, status and member (phone or member no.)."""
    user = request.user
    require_perms(user, "promotions.view")
    rows = coupon_queries.visible_coupons(user)
    form = CouponFilterForm(request.GET)
    data = form.cleaned_data if form.is_valid() else {}
    if data.get("template"):
        rows = rows.filter(template_id=data["template"])
    if data.get("status"):
        rows = rows.filter(status=data["status"])
    if data.get("member"):
        text = data["member"].strip()
        rows = rows.filter(Q(member__phone=text) | Q(member__member_no=text))
    page = page_of(request, rows.order_by("-id"), PAGE_SIZE)
    context = {
        "page": page,
        "params": request.GET,
        "query": filters_query(request.GET),
        "statuses": CouponStatus.choices,
        "templates": coupon_queries.visible_templates(user).order_by("name"),
    }
    return render(request, "promotions/coupons/coupons.html", context)


def _coupon_or_404(coupons, code):
    """The coupon of `code` among `coupons` (those the user sees), or Http404."""
    return first_or_404(coupons.filter(code=normalize_code(code)), _("No such coupon."))


@login_required
@require_GET
def coupon_detail(request, code):
    """One coupon: what it gives, its state and window, its barcode and QR code."""
    require_perms(request.user, "promotions.view")
    visible = coupon_queries.visible_coupons(request.user)
    coupon = _coupon_or_404(visible.select_related("redeemed_store", "issue", "template__node"), code)
    context = {
        "coupon": coupon,
        "printed": display_code(coupon.code),
        "gives": describe(coupon.template),
        "barcode": code128_svg(coupon.code, module=2, height=60),
        "qr": qr_svg(coupon.code),
    }
    return render(request, "promotions/coupons/coupon_detail.html", context)


@login_required
@require_POST
def coupon_void(request, code):
    """Cancel an unused coupon, with a reason (coupons.issue)."""
    require_perms(request.user, "coupons.issue")
    coupon = _coupon_or_404(coupon_queries.visible_coupons(request.user), code)
    try:
        coupons.void_coupon(request.user, coupon, reason=request.POST.get("reason", ""))
    except ValidationFailed as exc:
        messages.error(request, " ".join(str(m) for errors in exc.errors.values() for m in errors))
    except BusinessError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Coupon %(code)s cancelled.") % {"code": display_code(coupon.code)})
    return redirect("coupons:coupon", code=coupon.code)


# The URL confs name these views as functions: one view object per page.
template_form = TemplateEdit.as_view()
