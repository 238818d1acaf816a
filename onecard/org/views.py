"""Pages of the organisation: the org tree, staff and roles. Thin: parse, check, call a service, render."""

import functools

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import Count, Q
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from onecard.core.errors import BusinessError
from onecard.core.flash import call_and_flash
from onecard.core.ids import id_or_404, parse_id
from onecard.core.lookups import first_or_404
from onecard.core.object_views import ObjectEditView
from onecard.core.paging import filters_query, page_of
from onecard.core.scoping import scoped_staff

from . import counts, lockout, second_factor, services, staff_sessions, till_login
from .choices import NodeKind
from .forms import (
    NodeCreateForm,
    NodeEditForm,
    PasswordForm,
    RoleForm,
    StaffCardForm,
    StaffCreateForm,
    StaffEditForm,
    apply_service_errors,
)
from .models import Merchant, Role
from .permissions import PERMISSION_GROUPS, PERMISSIONS
from .queries import scoped_nodes

# ---- scope helpers ---------------------------------------------------------------------------------------


def merchants_of(user):
    """The merchants whose roles the user manages: all of them for a system administrator."""
    if user.sees_everything:
        return Merchant.objects.all()
    return Merchant.objects.filter(pk=user.node.merchant_id) if user.node_id else Merchant.objects.none()


def _node_or_404(user, pk):
    return first_or_404(scoped_nodes(user).filter(pk=id_or_404(pk)))


def _staff_or_404(user, pk):
    return first_or_404(scoped_staff(user).select_related("node", "node__merchant").filter(pk=id_or_404(pk)))


def _staff_action(view):
    """A staff.manage POST on one account in scope: `view(request, staff)` flashes, then back to the account."""

    @login_required
    @permission_required("staff.manage", raise_exception=True)
    @require_POST
    @functools.wraps(view)
    def action(request, pk):
        staff = _staff_or_404(request.user, pk)
        view(request, staff)
        return redirect("org:staff_edit", pk=staff.pk)

    return action


def _show_password_refusal(form, exc):
    """A service refusal on a form that asks for the password twice: the service's `password` is `password1`."""
    if getattr(exc, "errors", None) and "password" in exc.errors:
        exc.errors["password1"] = exc.errors.pop("password")
    apply_service_errors(form, exc)


def _grantable_roles(user, merchant_ids, *, keep=()):
    """Built-in roles and the merchants' custom roles (system administrator is a superuser, not a role)."""
    qs = Role.objects.filter(Q(merchant__isnull=True) | Q(merchant_id__in=list(merchant_ids)))
    qs = qs.filter(~Q(code="system_admin") | Q(pk__in=[r.pk for r in keep]))
    return qs.select_related("merchant").order_by("-is_builtin", "merchant_id", "id")


# ---- org tree --------------------------------------------------------------------------------------------


@login_required
@permission_required("org.view", raise_exception=True)
def org_tree(request):
    """The viewer's part of the organisation with member and staff counts per node (subtree totals)."""
    user = request.user
    nodes = list(scoped_nodes(user))
    by_id = {n.pk: n for n in nodes}
    # Two grouped queries, whatever the size of the tree (members count theirs: members/hooks.py).
    member_counts = counts.node_counts(user, "members")
    staff_counts = dict(
        scoped_staff(user)
        .filter(is_active=True)
        .order_by()
        .values("node_id")
        .annotate(n=Count("id"))
        .values_list("node_id", "n")
    )
    for node in nodes:
        node.tree_children = []
        node.member_total = member_counts.get(node.pk, 0)
        node.staff_total = staff_counts.get(node.pk, 0)
    roots = []
    for node in nodes:
        parent = by_id.get(node.parent_id)
        (parent.tree_children if parent else roots).append(node)
    for node in sorted(nodes, key=lambda n: -n.depth):  # deepest first, so totals roll up to the top
        parent = by_id.get(node.parent_id)
        if parent:
            parent.member_total += node.member_total
            parent.staff_total += node.staff_total
    return render(
        request,
        "org/tree.html",
        {"roots": roots, "node_count": len(nodes), "show_merchant": user.sees_everything},
    )


@login_required
@permission_required("org.manage", raise_exception=True)
@require_http_methods(["GET", "POST"])
def node_create(request):
    """A region or store below ?parent=ID."""
    parent_pk = request.GET.get("parent") or request.POST.get("parent") or request.user.node_id
    parent = _node_or_404(request.user, parent_pk)
    if parent.kind == NodeKind.STORE:
        messages.error(request, _("Nothing can be placed below a store."))
        return redirect("org:tree")
    form = NodeCreateForm(request.POST or None, parent=parent)
    if request.method == "POST" and form.is_valid():
        try:
            node = services.create_node(request.user, parent=parent, **form.cleaned_data)
        except BusinessError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("%(name)s was created.") % {"name": node.name})
            return redirect("org:tree")
    return render(request, "org/node_form.html", {"form": form, "parent": parent, "node": None})


class OrgEditView(ObjectEditView):
    """An org page's edit form: records come from the user's scope, refusals go where org's forms put them.

    The form is bound only to a POST that carries data, as on the other org pages.
    """

    initial_on_post = True
    permission_field = "roles"
    not_found = ""  # out of scope looks exactly like missing: no hint that it exists

    def get_merchant(self):
        return None  # org records carry their own node and merchant

    def get_form(self, data=None):
        return super().get_form(data or None)

    def refused(self, form, exc):
        apply_service_errors(form, exc, permission_field=self.permission_field)


class NodeEdit(OrgEditView):
    """Name, address, phone and whether the node is active."""

    permissions = ("org.manage",)
    form_class = NodeEditForm
    template_name = "org/node_form.html"
    object_name = "node"
    success_url = "org:tree"
    success_message = gettext_lazy("%(name)s was saved.")

    def get_queryset(self):
        return scoped_nodes(self.user)

    def initial(self):
        node = self.object
        return {"name": node.name, "address": node.address, "phone": node.phone, "is_active": node.is_active}

    def get_context_data(self):
        return {"parent": self.object.parent}

    def save(self, form):
        return services.update_node(self.user, self.object, **form.cleaned_data)


# ---- staff -----------------------------------------------------------------------------------------------


def _filter_staff(user, params):
    qs = (
        scoped_staff(user).select_related("node").prefetch_related("roles").order_by("node__path", "username")
    )
    q = (params.get("q") or "").strip()
    if q:
        qs = qs.filter(
            Q(username__icontains=q)
            | Q(display_name__icontains=q)
            | Q(phone__icontains=q)
            | Q(email__icontains=q)
        )
    node = params.get("node")
    if node:
        chosen = scoped_nodes(user).filter(pk=parse_id(node)).first()
        qs = qs.filter(node__path__startswith=chosen.path) if chosen else qs.none()
    role = params.get("role")
    if role:
        role_id = parse_id(role)
        qs = qs.filter(roles__id=role_id).distinct() if role_id else qs.none()
    status = params.get("status")
    if status in ("active", "inactive"):
        qs = qs.filter(is_active=(status == "active"))
    return qs


@login_required
@permission_required("staff.view", raise_exception=True)
def staff_list(request):
    """Staff of the viewer's node and below, searchable and filtered by node, role and status."""
    user = request.user
    page = page_of(request, _filter_staff(user, request.GET), 50)
    merchant_ids = merchants_of(user).values_list("id", flat=True)
    return render(
        request,
        "org/staff_list.html",
        {
            "page": page,
            "params": request.GET,
            "query": filters_query(request.GET),
            "nodes": scoped_nodes(user),
            "roles": _grantable_roles(user, merchant_ids),
        },
    )


@login_required
@permission_required("staff.manage", raise_exception=True)
@require_http_methods(["GET", "POST"])
def staff_create(request):
    """A new account at a node in scope, with roles the creator may hand out."""
    user = request.user
    nodes = scoped_nodes(user).filter(is_active=True)
    roles = _grantable_roles(user, merchants_of(user).values_list("id", flat=True))
    initial = {"node": request.GET.get("node") or user.node_id}
    form = StaffCreateForm(request.POST or None, nodes=nodes, roles=roles, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            staff = services.create_staff(
                user,
                username=data["username"],
                password=data["password1"],
                node=data["node"],
                roles=list(data["roles"]),
                display_name=data["display_name"],
                phone=data["phone"],
                email=data["email"],
            )
        except BusinessError as exc:
            _show_password_refusal(form, exc)
        else:
            messages.success(request, _("The account %(name)s was created.") % {"name": staff.username})
            return redirect("org:staff_edit", pk=staff.pk)
    return render(request, "org/staff_form.html", {"form": form, "staff": None})


@login_required
@permission_required("staff.view", raise_exception=True)
@require_http_methods(["GET", "POST"])
def staff_edit(request, pk):
    """One account: read-only with staff.view, editable with staff.manage."""
    user = request.user
    staff = _staff_or_404(user, pk)
    can_manage = user.has_perm("staff.manage")
    if request.method == "POST" and not can_manage:
        raise DjangoPermissionDenied
    held = list(staff.roles.all())
    form = None
    if can_manage:
        nodes = scoped_nodes(user).filter(Q(is_active=True) | Q(pk=staff.node_id))
        roles = _grantable_roles(user, [staff.node.merchant_id], keep=held)
        initial = {
            "node": staff.node_id,
            "roles": [r.pk for r in held],
            "display_name": staff.display_name,
            "phone": staff.phone,
            "email": staff.email,
            "is_active": staff.is_active,
        }
        form = StaffEditForm(request.POST or None, nodes=nodes, roles=roles, initial=initial)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            was_active = staff.is_active
            try:
                services.update_staff(user, staff, roles=list(data.pop("roles")), **data)
            except BusinessError as exc:
                apply_service_errors(form, exc)
                staff.refresh_from_db()
            else:
                messages.success(request, _("%(name)s was saved.") % {"name": staff})
                if was_active and not staff.is_active:
                    messages.warning(
                        request,
                        _("%(name)s can no longer log in. Hand their members over to a colleague.")
                        % {"name": staff},
                    )
                return redirect("org:staff_edit", pk=staff.pk)
    return render(
        request,
        "org/staff_form.html",
        {
            "form": form,
            "staff": staff,
            "held_roles": held,
            "transfer_url": _transfer_url(staff),
            "owned_members": _owned_member_count(staff),
            **_access_context(user, staff),
            "login_lock": lockout.active_account_lock(staff.username),
        },
    )


def _access_context(user, staff):
    """What the staff page shows an administrator of someone's log-ins: second factor and open sessions."""
    if not user.has_perm("staff.manage"):
        return {}
    return {
        "show_access": True,
        "second_factor": second_factor.confirmed_factor(staff),
        "second_factor_required": second_factor.must_use_second_factor(staff),
        "sessions": staff_sessions.live_sessions(staff),
        "current": None,
        "card_form": StaffCardForm(),
    }


@_staff_action
def staff_sessions_end(request, staff):
    """End one of someone's sessions (`session`), or all of them and their API token (`all`)."""
    if request.POST.get("all"):
        staff_sessions.end_all(request.user, staff, reason="ended by an administrator")
        messages.success(request, _("Every session of %(name)s was ended.") % {"name": staff})
    else:
        session_id = parse_id(request.POST.get("session"))
        session = staff.sessions.filter(pk=session_id).first() if session_id else None
        if session is not None:
            staff_sessions.end(request.user, session, "ended by an administrator")
            messages.success(request, _("The session was ended."))


@_staff_action
def staff_reset_second_factor(request, staff):
    """Reset someone's two-step verification (a lost phone): they enrol again at their next log-in."""
    call_and_flash(
        request,
        lambda: second_factor.reset(request.user, staff),
        _("The two-step verification of %(name)s was reset; their sessions were ended.") % {"name": staff},
    )


@_staff_action
def staff_unlock(request, staff):
    """Lift the log-in lock-out of an account in scope (too many wrong passwords); audited."""
    if services.unlock_staff(request.user, staff):
        messages.success(request, _("%(name)s can log in again.") % {"name": staff})
    else:
        messages.info(request, _("%(name)s was not locked out.") % {"name": staff})


@_staff_action
def staff_till_pin_clear(request, staff):
    """Clear someone's till PIN (forgotten, or seen by others); they set a new one on their account."""
    if till_login.clear_till_pin(request.user, staff):
        messages.success(request, _("The till PIN of %(name)s was cleared.") % {"name": staff})


@_staff_action
def staff_card(request, staff):
    """Assign a staff card (工牌) by its number, or take it away (`remove`); audited."""
    if request.POST.get("remove"):
        if till_login.remove_staff_card(request.user, staff):
            messages.success(request, _("The staff card of %(name)s was removed.") % {"name": staff})
        return
    form = StaffCardForm(request.POST)
    try:
        if not form.is_valid():
            raise BusinessError(_("Type or swipe the staff card number."), field="number")
        till_login.assign_staff_card(request.user, staff, form.cleaned_data["number"])
    except BusinessError as exc:
        for text in getattr(exc, "errors", {}).get("number", [exc.message]):
            messages.error(request, str(text))
    else:
        messages.success(request, _("%(name)s has a new staff card.") % {"name": staff})


def _transfer_url(staff):
    try:
        return reverse("members:transfer") + f"?from_owner={staff.pk}"
    except Exception:  # the members pages are another part of OneCard; without them no link
        return ""


def _owned_member_count(staff):
    return counts.staff_count(staff, "owned_members")


@login_required
@permission_required("staff.manage", raise_exception=True)
@require_http_methods(["GET", "POST"])
def staff_password(request, pk):
    """Set a new password for an account in scope; the password is never written to the audit log."""
    staff = _staff_or_404(request.user, pk)
    form = PasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        own = staff.pk == request.user.pk
        try:
            services.set_staff_password(
                request.user,
                staff,
                form.cleaned_data["password1"],
                keep_session_key=request.session.session_key if own else None,
            )
        except BusinessError as exc:
            _show_password_refusal(form, exc)
        else:
            if own:
                old_key = request.session.session_key
                update_session_auth_hash(request, staff)  # stay logged in here; other sessions end
                staff_sessions.renewed(old_key, request.session.session_key)
            messages.success(request, _("The password of %(name)s was changed.") % {"name": staff})
            return redirect("org:staff_edit", pk=staff.pk)
    return render(request, "org/staff_password.html", {"form": form, "staff": staff})


# ---- roles -----------------------------------------------------------------------------------------------


def _visible_roles(user):
    return Role.objects.filter(Q(is_builtin=True) | Q(merchant__in=merchants_of(user)))


def _role_or_404(user, pk):
    return first_or_404(_visible_roles(user).select_related("merchant").filter(pk=id_or_404(pk)))


def _permission_table(codes):
    held = set(codes)
    return [
        (group, [(PERMISSIONS[c], c in held) for c in group_codes])
        for group, group_codes in PERMISSION_GROUPS
    ]


@login_required
@permission_required("roles.manage", raise_exception=True)
def role_list(request):
    """Built-in roles (read-only) and the custom roles of the viewer's merchant."""
    roles = _visible_roles(request.user).select_related("merchant").annotate(holders=Count("staff"))
    builtin = [r for r in roles if r.is_builtin]
    custom = [r for r in roles if not r.is_builtin]
    return render(
        request,
        "org/role_list.html",
        {"builtin": builtin, "custom": custom, "show_merchant": request.user.sees_everything},
    )


@login_required
@permission_required("roles.manage", raise_exception=True)
@require_http_methods(["GET", "POST"])
def role_create(request):
    """A custom role of the viewer's merchant."""
    user = request.user
    merchants = merchants_of(user) if user.sees_everything else None
    form = RoleForm(request.POST or None, merchants=merchants)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        merchant = data.get("merchant") or user.merchant
        try:
            if merchant is None:
                raise BusinessError(_("Choose the merchant this role belongs to."), field="merchant")
            role = services.create_role(
                user,
                merchant=merchant,
                name=data["name"],
                permissions=data["permissions"],
                description=data["description"],
            )
        except BusinessError as exc:
            apply_service_errors(form, exc, permission_field="permissions")
        else:
            messages.success(request, _("The role %(name)s was created.") % {"name": role.name})
            return redirect("org:role_list")
    return render(request, "org/role_form.html", {"form": form, "role": None})


class RoleEdit(OrgEditView):
    """Change a custom role; a built-in role is shown read-only."""

    permissions = ("roles.manage",)
    form_class = RoleForm
    template_name = "org/role_form.html"
    object_name = "role"
    success_url = "org:role_list"
    success_message = gettext_lazy("The role %(name)s was saved.")
    permission_field = "permissions"

    def get_queryset(self):
        return _visible_roles(self.user).select_related("merchant")

    def initial(self):
        role = self.object
        return {"name": role.name, "description": role.description, "permissions": role.permissions}

    def get_context_data(self):
        role = self.object
        return {"permission_table": _permission_table(role.permissions), "holders": role.staff.count()}

    def save(self, form):
        fields = {name: form.cleaned_data[name] for name in ("name", "permissions", "description")}
        return services.update_role(self.user, self.object, **fields)


@login_required
@permission_required("roles.manage", raise_exception=True)
@require_http_methods(["GET", "POST"])
def role_delete(request, pk):
    """Confirm, then delete a custom role that nobody holds."""
    role = _role_or_404(request.user, pk)
    if request.method == "POST":
        try:
            services.delete_role(request.user, role)
        except BusinessError as exc:
            messages.error(request, exc.message)
            return redirect("org:role_edit", pk=role.pk)
        messages.success(request, _("The role %(name)s was deleted.") % {"name": role.name})
        return redirect("org:role_list")
    return render(request, "org/role_confirm_delete.html", {"role": role, "holders": role.staff.count()})


# The URL confs name these views as functions: one view object per page.
node_edit = NodeEdit.as_view()
role_edit = RoleEdit.as_view()
