"""Members pages: list and search, export, 360 view, create/edit, reveal, consent, contacts.

Transfer and merge live in transfer_views.py, tags and custom fields in field_views.py; the helpers
they share with these pages (merchant_for, staff_in_scope, show_business_error) are here.

Views parse, check permissions, call `services`, render. Every member comes through `queries`
(scoped to the viewer), every option list is limited to the viewer's merchant and scope.
"""

import math
from functools import cached_property

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.humanize.templatetags.humanize import intcomma
from django.core.exceptions import PermissionDenied as Forbidden
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from onecard.core.errors import BusinessError, ValidationFailed
from onecard.core.errors import PermissionDenied as BusinessForbidden
from onecard.core.masking import mask_id_number, mask_phone
from onecard.core.object_views import ObjectEditView
from onecard.core.paging import filters_query
from onecard.core.permissions import require_perms
from onecard.core.scoping import scope_node_ids
from onecard.core.spreadsheets import xlsx_response
from onecard.org.choices import NodeKind
from onecard.org.models import Merchant, OrgNode, Staff

from . import exports, privacy, queries, services
from .choices import EXPORT_PURPOSES, REVEAL_PURPOSES, FieldType, MemberKind, MemberStatus, Source
from .forms import ContactForm, MemberForm, custom_initial
from .models import CustomField, MemberMerge, Tag
from .sections import MEMBER_SECTIONS, member_header_facts

# ---- helpers ---------------------------------------------------------------------------------------------


class CappedPaginator(Paginator):
    """A paginator that counts at most `cap` + 1 rows (a sliced subquery), never the whole table.

    At a million members an exact COUNT(*) costs more than the page itself; past the cap the list
    shows "100,000+" and the search box is the way in.
    """

    cap = 100_000

    @cached_property
    def count(self):
        # ORDER BY is useless for a count; dropping it lets the database stop at the first cap + 1 rows.
        return self.object_list.order_by()[: self.cap + 1].count()

    @property
    def capped(self):
        return self.count > self.cap

    @property
    def count_display(self):
        return f"{intcomma(self.cap)}+" if self.capped else intcomma(self.count)

    @cached_property
    def num_pages(self):
        return max(1, math.ceil(min(self.count, self.cap) / self.per_page))

    def page(self, number):
        """One page, read in two steps: the page's ids (a narrow, index-friendly query), then those rows.

        A search like "zs" matches thousands of members; selecting them with their store and owner
        joined before sorting would read every match, while the ids alone sort cheaply.
        """
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        ids = list(self.object_list.values_list("pk", flat=True)[bottom : bottom + self.per_page])
        rows = {m.pk: m for m in self.object_list.order_by().filter(pk__in=ids)}
        return self._get_page([rows[i] for i in ids if i in rows], number, self)


def _member_or_404(user, pk, *, active=False):
    member = queries.find_member(user, pk)
    if member is None or (active and member.status != MemberStatus.ACTIVE):
        raise Http404(_("No such member."))
    return member


def merchant_for(user):
    """The merchant whose data the user works on (a superuser without a node works on the first one)."""
    if user.node_id:
        return user.node.merchant
    if user.sees_everything:
        return Merchant.objects.order_by("id").first()
    return None


def _scoped_nodes(user, merchant=None):
    """Active org nodes of the user's merchant(s) within the user's scope, in tree order."""
    nodes = OrgNode.objects.filter(merchant_id__in=queries.merchant_ids_for(user), is_active=True)
    if merchant is not None:
        nodes = nodes.filter(merchant=merchant)
    ids = scope_node_ids(user)
    if ids is not None:
        nodes = nodes.filter(id__in=ids)
    return nodes.order_by("path")


def _store_choices(user, merchant, current=None):
    """Stores a member may belong to: the stores in scope (plus the member's current one)."""
    condition = Q(pk__in=_scoped_nodes(user, merchant).filter(kind=NodeKind.STORE).values("pk"))
    if current is not None:
        condition |= Q(pk=current.pk)
    return OrgNode.objects.filter(condition).order_by("path")


def staff_in_scope(user, merchant, *, active_only=True, current=None):
    """Staff of the merchant bound to nodes in the user's scope (plus `current`, e.g. today's owner)."""
    condition = Q(node__merchant=merchant)
    ids = scope_node_ids(user)
    if ids is not None:
        condition &= Q(node_id__in=ids)
    if active_only:
        condition &= Q(is_active=True)
    if current is not None:
        condition |= Q(pk=current.pk)
    return Staff.objects.filter(condition).select_related("node").order_by("node__path", "username")


def _tags_for(user):
    return Tag.objects.filter(merchant_id__in=queries.merchant_ids_for(user)).order_by("name")


def show_business_error(request, error, form=None):
    """A refusal from a service: field errors next to fields, anything else as a message."""
    if isinstance(error, ValidationFailed) and form is not None:
        form.add_service_errors(error.errors)
    elif isinstance(error, ValidationFailed):
        details = "; ".join(
            str(m) for msgs in error.errors.values() for m in (msgs if isinstance(msgs, list) else [msgs])
        )
        messages.error(request, f"{error.message} {details}".strip())
    else:
        messages.error(request, str(error.message))


# ---- list, export ------------------------------------------------------------------------------------------


@login_required
def member_list(request):
    """Search box, filters, one page of members and bulk transfer of the ticked rows."""
    user = request.user
    require_perms(user, "members.view")
    params = request.GET
    members = (
        queries.filter_members(user, params).select_related("home_store", "owner").prefetch_related("tags")
    )
    paginator = CappedPaginator(members, settings.ONECARD_PAGE_SIZE)
    page = paginator.get_page(params.get("page"))
    rows = list(page.object_list)
    for member in rows:
        member.masked_phone = mask_phone(member.phone)
    page.object_list = rows
    privacy.record_list(user, rows)
    merchant = merchant_for(user)
    owners = staff_in_scope(user, merchant, active_only=False) if merchant else Staff.objects.none()
    can_transfer = user.has_perm("members.transfer")
    return render(
        request,
        "members/member_list.html",
        {
            "page": page,
            "rows": rows,
            "params": params,
            "query": filters_query(params),
            "stores": _scoped_nodes(user),
            "tags": _tags_for(user),
            "owners": owners,
            "active_owners": [s for s in owners if s.is_active] if can_transfer else [],
            "sources": Source.choices,
            "kinds": MemberKind.choices,
            "can_transfer": can_transfer,
        },
    )


EXPORT_PURPOSE_PARAMS = ("purpose", "purpose_other")


@login_required
def member_export(request):
    """The filtered list as .xlsx (phone and ID numbers masked) once the user says why; recorded (M7, PIPL).

    Without a purpose the page asks for one (the filters ride along); every member exported is recorded.
    """
    user = request.user
    require_perms(user, "members.view", "members.export")
    filters = request.GET.copy()
    chosen, other = (filters.pop(name, [""])[0].strip() for name in EXPORT_PURPOSE_PARAMS)
    purpose = other or chosen
    error = ""
    if "purpose" in request.GET:
        try:
            purpose = services.check_export_purpose(purpose)
        except ValidationFailed as exc:
            error = exc.errors["purpose"][0]
    if "purpose" not in request.GET or error:
        context = {"filters": list(filters.lists()), "purposes": EXPORT_PURPOSES, "error": error}
        return render(request, "members/export_purpose.html", context, status=400 if error else 200)
    exported = []
    members = queries.filter_members(user, filters)
    content, count = exports.build_members_xlsx(
        members, merchant_ids=queries.merchant_ids_for(user), exported=exported
    )
    services.record_export(user, exported, purpose=purpose, filters=filters.urlencode())
    return xlsx_response(content, f"members-{timezone.localtime():%Y%m%d-%H%M}.xlsx")


@login_required
def member_access_log(request, pk):
    """Who saw this member's personal data, how, why and when (PIPL): for the member's questions and audits."""
    user = request.user
    require_perms(user, "members.view", "audit.view")
    member = _member_or_404(user, pk)
    context = {"member": member, "accesses": privacy.access_report(member)}
    return render(request, "members/access_log.html", context)


# ---- 360 view ----------------------------------------------------------------------------------------------


def member_sections(request, member):
    """The sections shown on a member's page, in order."""
    return [dict(section) for section in MEMBER_SECTIONS]


def _custom_field_rows(member):
    rows = []
    for definition in CustomField.objects.filter(merchant_id=member.merchant_id):
        value = (member.custom_fields or {}).get(definition.key)
        if definition.field_type == FieldType.BOOLEAN and value is not None:
            value = _("Yes") if value else _("No")
        rows.append({"label": definition.label, "value": "" if value is None else value})
    return rows


@login_required
def member_detail(request, pk):
    """The member 360: identity, profile, consent, contacts, history, and the sections other apps fill."""
    user = request.user
    require_perms(user, "members.view")
    member = _member_or_404(user, pk)
    privacy.record_detail(user, member)
    merges = MemberMerge.objects.filter(Q(survivor=member) | Q(merged=member)).select_related(
        "survivor", "merged", "actor"
    )
    return render(
        request,
        "members/member_detail.html",
        {
            "member": member,
            "masked_phone": mask_phone(member.phone),
            "masked_id_number": mask_id_number(member.id_number),
            "can_reveal": user.has_perm("members.reveal_pii"),
            "reveal_purposes": REVEAL_PURPOSES,
            "can_read_access_log": user.has_perm("audit.view"),
            "header_facts": member_header_facts(member),
            "can_change": user.has_perm("members.change") and member.status == MemberStatus.ACTIVE,
            "is_merged": member.status == MemberStatus.MERGED,
            "referrer_visible": member.referrer_id
            and queries.visible_members(user, include_merged=True).filter(pk=member.referrer_id).exists(),
            "custom_field_rows": _custom_field_rows(member),
            "tags": member.tags.all(),
            "contacts": member.contacts.all(),
            "consent_history": member.consent_history.select_related("actor")[:20],
            "owner_changes": member.owner_changes.select_related("from_owner", "to_owner", "actor")[:50],
            "merges": merges[:20],
            "member_sections": member_sections(request, member),
        },
    )


@login_required
@require_POST
def member_reveal(request, pk, field):
    """htmx: the full phone or ID number in place of the masked one; audited by the service."""
    user = request.user
    require_perms(user, "members.view", "members.reveal_pii")
    if field not in services.REVEALABLE:
        raise Http404(_("Only phone and ID number can be revealed."))
    member = _member_or_404(user, pk)
    try:
        value = services.reveal(user, member, field, purpose=request.POST.get("purpose", ""))
    except BusinessForbidden as exc:
        raise Forbidden(str(exc.message)) from exc
    except ValidationFailed as exc:
        return HttpResponse(exc.errors["purpose"][0] if "purpose" in exc.errors else exc.message, status=400)
    return HttpResponse(
        format_html('<span id="{}-value" class="masked revealed">{}</span>', field, value or "—")
    )


@login_required
@require_POST
def member_consent(request, pk):
    """Grant or withdraw marketing consent (M8); the time and source are recorded."""
    user = request.user
    require_perms(user, "members.view", "members.change")
    member = _member_or_404(user, pk, active=True)
    granted = request.POST.get("granted") in {"1", "true", "yes", "on"}
    source = (request.POST.get("source") or "").strip() or _("staff: %(name)s") % {
        "name": user.get_username()
    }
    try:
        services.set_consent(user, member, granted, source=source[:40])
    except BusinessError as exc:
        show_business_error(request, exc)
    else:
        messages.success(
            request, _("Marketing consent granted.") if granted else _("Marketing consent withdrawn.")
        )
    return redirect("members:detail", pk=member.pk)


# ---- create, edit ------------------------------------------------------------------------------------------


def _member_form(user, merchant, member=None, data=None):
    initial = None
    if member is not None:
        initial = {
            "kind": member.kind,
            "name": member.name,
            "gender": member.gender,
            "birthday": member.birthday.isoformat() if member.birthday else "",
            "address": member.address,
            "email": member.email,
            "notes": member.notes,
            "home_store": member.home_store_id,
            "owner": member.owner_id,
            "source": member.source,
            "source_detail": member.source_detail,
            "tags": [t.pk for t in member.tags.all()],
        }
    else:
        initial = {"home_store": user.node_id, "owner": user.pk}
    form = MemberForm(
        data,
        initial=initial,
        merchant=merchant,
        stores=_store_choices(user, merchant, current=member.home_store if member else None),
        owners=staff_in_scope(user, merchant, current=member.owner if member and member.owner_id else None),
        member=member,
    )
    if member is not None and data is None:
        form.initial.update(custom_initial(member, form.definitions))
    return form


def _duplicate_link(exc):
    existing = exc.extra.get("existing_member") or {}
    if not existing.get("url"):
        return None
    return {"url": existing["url"], "member_no": existing.get("member_no", ""), "message": str(exc.message)}


class MemberEdit(ObjectEditView):
    """Register a member (no pk; a known phone number links to the member who has it) or change one.

    The service audits only what changed.
    """

    form_class = MemberForm
    template_name = "members/member_form.html"
    object_name = "member"

    @property
    def permissions(self):
        return ("members.view", "members.change" if "pk" in self.kwargs else "members.add")

    def get_merchant(self):
        if "pk" in self.kwargs:
            return None  # the member's own merchant
        merchant = merchant_for(self.user)
        if merchant is None:
            raise Forbidden("no merchant")
        return merchant

    def setup_object(self):
        self.duplicate = None
        pk = self.kwargs.get("pk")
        self.object = None if pk is None else _member_or_404(self.user, pk, active=True)

    def get_form(self, data=None):
        merchant = self.object.merchant if self.object else self.merchant
        return _member_form(self.user, merchant, member=self.object, data=data)

    def get_context_data(self):
        return {"duplicate": self.duplicate}

    def save(self, form):
        if self.object is None:
            return services.create_member(
                self.user, self.merchant, form.service_data(), consent_source="staff"
            )
        services.update_member(self.user, self.object, form.service_data())
        return self.object

    def refused(self, form, exc):
        if exc.code == "duplicate_phone":
            self.duplicate = _duplicate_link(exc)
            form.add_error("phone", str(exc.message))
        else:
            show_business_error(self.request, exc, form)

    def message(self, saved):
        if self.object is None:
            return _("Member %(no)s was registered.") % {"no": saved.member_no}
        return _("Changes saved.")

    def get_success_url(self, saved):
        return reverse("members:detail", args=[saved.pk])


# ---- contacts ----------------------------------------------------------------------------------------------


def _contact_or_404(member, contact_pk):
    contact = member.contacts.filter(pk=contact_pk).first()
    if contact is None:
        raise Http404(_("No such contact."))
    contact.member = member
    return contact


class ContactEdit(ObjectEditView):
    """Add a contact person to an active member (no contact_pk in the URL) or change one."""

    permissions = ("members.view", "members.change")
    form_class = ContactForm
    template_name = "members/contact_form.html"
    object_name = "contact"
    initial_on_post = True
    fields = ("name", "title", "phone", "email", "is_primary", "notes")

    def get_merchant(self):
        return None  # the member, found in the user's scope, says whose it is

    def setup_object(self):
        self.member = _member_or_404(self.user, self.kwargs["pk"], active=True)
        contact_pk = self.kwargs.get("contact_pk")
        self.object = None if contact_pk is None else _contact_or_404(self.member, contact_pk)

    def get_form(self, data=None):
        return super().get_form(data or None)

    def initial(self):
        return {k: getattr(self.object, k) for k in self.fields} if self.object else None

    def get_context_data(self):
        return {"member": self.member}

    def save(self, form):
        if self.object is None:
            return services.add_contact(self.user, self.member, form.cleaned_data)
        return services.update_contact(self.user, self.object, form.cleaned_data)

    def refused(self, form, exc):
        show_business_error(self.request, exc, form)

    def message(self, saved):
        return _("Contact added.") if self.object is None else _("Contact saved.")

    def get_success_url(self, saved):
        return reverse("members:detail", args=[self.member.pk]) + "#contacts"


@login_required
@require_POST
def contact_delete(request, pk, contact_pk):
    user = request.user
    require_perms(user, "members.view", "members.change")
    member = _member_or_404(user, pk, active=True)
    contact = _contact_or_404(member, contact_pk)
    try:
        services.delete_contact(user, contact)
    except BusinessError as exc:
        show_business_error(request, exc)
    else:
        messages.success(request, _("Contact deleted."))
    return redirect(reverse("members:detail", args=[member.pk]) + "#contacts")


# The URL conf names these views as functions: one view object per page.
member_create = member_edit = MemberEdit.as_view()
contact_create = contact_edit = ContactEdit.as_view()
