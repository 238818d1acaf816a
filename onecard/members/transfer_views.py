"""Members pages that move members between records: transfer to another owner (M4) and merge two records.

Both are behind their own permission (members.transfer, members.merge); the members come through
`queries.visible_members`, so only members in the viewer's scope can be moved or merged.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as Forbidden
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_http_methods

from onecard.core.errors import BusinessError
from onecard.core.ids import parse_id
from onecard.core.masking import mask_id_number, mask_phone
from onecard.core.permissions import require_perms

from . import merging, queries, services
from .forms import TransferAllForm
from .views import merchant_for, show_business_error, staff_in_scope

# ---- transfer (M4) -----------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def member_transfer(request):
    """Hand ticked members to another owner, or every member of a leaving staff member (离职继承)."""
    user = request.user
    require_perms(user, "members.view", "members.transfer")
    merchant = merchant_for(user)
    if merchant is None:
        raise Forbidden("no merchant")
    to_owners = staff_in_scope(user, merchant)
    all_form = TransferAllForm(
        from_owners=staff_in_scope(user, merchant, active_only=False), to_owners=to_owners
    )
    selected = []
    ids = [parse_id(i) for i in request.POST.getlist("ids") or request.GET.getlist("ids")]
    ids = [i for i in ids if i is not None]
    if ids:
        selected = list(
            queries.visible_members(user)
            .filter(pk__in=ids)
            .select_related("home_store", "owner", "merchant")
            .order_by("id")
        )
    if request.method == "POST" and request.POST.get("mode") == "all":
        all_form = TransferAllForm(
            request.POST,
            from_owners=staff_in_scope(user, merchant, active_only=False),
            to_owners=to_owners,
        )
        if all_form.is_valid() and _transfer_all(request, all_form):
            return redirect("members:transfer")
    elif request.method == "POST":
        raw_owner = request.POST.get("to_owner", "")
        to_owner = to_owners.filter(pk=parse_id(raw_owner)).first()
        if not selected:
            messages.error(request, _("Tick at least one member."))
        elif len(selected) != len(set(ids)):
            messages.error(request, _("Some of the ticked members are not in your part of the organisation."))
        elif to_owner is None:
            messages.error(request, _("Choose the new owner."))
        else:
            try:
                moved = services.transfer_members(
                    user, selected, to_owner, reason=request.POST.get("reason", "").strip()
                )
            except BusinessError as exc:
                show_business_error(request, exc)
            else:
                messages.success(request, _("%(n)s members moved to %(b)s.") % {"n": moved, "b": to_owner})
                back = request.POST.get("next") or ""
                return redirect(back if back.startswith("/members/") else reverse("members:list"))
    for member in selected:
        member.masked_phone = mask_phone(member.phone)
    return render(
        request,
        "members/member_transfer.html",
        {"selected": selected, "to_owners": to_owners, "all_form": all_form, "post": request.POST},
    )


def _transfer_all(request, form):
    """Run a 离职继承 hand-over from a valid form; True when it went through."""
    data = form.cleaned_data
    if data["from_owner"] == data["to_owner"]:
        form.add_error("to_owner", _("Choose a different staff member."))
        return False
    try:
        moved = services.transfer_all_from(
            request.user, data["from_owner"], data["to_owner"], reason=data["reason"]
        )
    except BusinessError as exc:
        show_business_error(request, exc, form)
        return False
    messages.success(
        request,
        _("%(n)s members moved from %(a)s to %(b)s.")
        % {"n": moved, "a": data["from_owner"], "b": data["to_owner"]},
    )
    return True


# ---- merge -------------------------------------------------------------------------------------------------

_MERGE_ROWS = (
    ("member_no", gettext_lazy("Member no.")),
    ("name", pgettext_lazy("person", "Name")),
    ("kind", gettext_lazy("Type")),
    ("phone", gettext_lazy("Phone")),
    ("id_number", gettext_lazy("ID number")),
    ("gender", gettext_lazy("Gender")),
    ("birthday", gettext_lazy("Birthday")),
    ("email", gettext_lazy("E-mail")),
    ("address", gettext_lazy("Address")),
    ("home_store", gettext_lazy("Home store")),
    ("owner", gettext_lazy("Owner")),
    ("source", gettext_lazy("Source")),
    ("marketing_consent", gettext_lazy("Marketing consent")),
    ("created_at", gettext_lazy("Joined")),
)


def _merge_value(member, field):
    if field == "phone":
        return mask_phone(member.phone)
    if field == "id_number":
        return mask_id_number(member.id_number)
    if field in ("kind", "gender", "source"):
        return getattr(member, f"get_{field}_display")()
    if field == "marketing_consent":
        return _("Yes") if member.marketing_consent else _("No")
    if field == "created_at":
        return timezone.localtime(member.created_at).strftime("%Y-%m-%d")
    value = getattr(member, field)
    return "" if value is None else value


def _merge_pick(user, text):
    """(chosen member or None, candidates) for what was typed in one search box of the merge page."""
    text = (text or "").strip()
    if not text:
        return None, []
    if text.startswith("#") and parse_id(text[1:]):
        member = queries.visible_members(user).filter(pk=parse_id(text[1:])).first()
        return member, []
    found = list(
        queries.visible_members(user)
        .filter(queries.search_condition(text))
        .select_related("home_store", "owner")
        .order_by("-id")[:10]
    )
    if len(found) == 1:
        return found[0], []
    for member in found:
        member.masked_phone = mask_phone(member.phone)
    return None, found


@login_required
@require_http_methods(["GET", "POST"])
def member_merge(request):
    """Pick two records of one person, compare them side by side, choose the survivor, merge."""
    user = request.user
    require_perms(user, "members.view", "members.merge")
    if request.method == "POST":
        a = queries.visible_members(user).filter(pk=request.POST.get("a") or 0).first()
        b = queries.visible_members(user).filter(pk=request.POST.get("b") or 0).first()
        survivor_pk = request.POST.get("survivor")
        if a is None or b is None:
            messages.error(request, _("Both members must be active members you can see."))
        elif survivor_pk not in (str(a.pk), str(b.pk)):
            messages.error(request, _("Choose which record survives."))
        else:
            survivor, merged = (a, b) if survivor_pk == str(a.pk) else (b, a)
            try:
                merging.merge_members(user, survivor, merged)
            except BusinessError as exc:
                show_business_error(request, exc)
            else:
                messages.success(
                    request,
                    _("%(merged)s was merged into %(survivor)s.") % {"merged": merged, "survivor": survivor},
                )
                return redirect("members:detail", pk=survivor.pk)
        return redirect(
            f"{reverse('members:merge')}?"
            + urlencode({"a": f"#{a.pk}" if a else "", "b": f"#{b.pk}" if b else ""})
        )
    a, a_candidates = _merge_pick(user, request.GET.get("a"))
    b, b_candidates = _merge_pick(user, request.GET.get("b"))
    rows = []
    if a is not None and b is not None:
        rows = [(label, _merge_value(a, f), _merge_value(b, f)) for f, label in _MERGE_ROWS]
    return render(
        request,
        "members/member_merge.html",
        {
            "a": a,
            "b": b,
            "a_candidates": a_candidates,
            "b_candidates": b_candidates,
            "candidate_lists": [
                (_("First member"), a_candidates, "a", "b", f"#{b.pk}" if b else request.GET.get("b", "")),
                (_("Second member"), b_candidates, "b", "a", f"#{a.pk}" if a else request.GET.get("a", "")),
            ],
            "rows": rows,
            "same": a is not None and b is not None and a.pk == b.pk,
            "params": request.GET,
        },
    )
