"""Pages of terminal management: list, register, rotate the secret, deactivate. Thin: parse, call, render.

A new secret travels from the POST to the next page in the session (post/redirect/get) and is taken
out of it when that page renders, so it is shown exactly once; that page is never cached.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from onecard.core.errors import BusinessError
from onecard.core.flash import call_and_flash
from onecard.core.paging import filters_query, page_of
from onecard.core.scoping import scope_node_ids
from onecard.org.choices import NodeKind
from onecard.org.forms import apply_service_errors
from onecard.org.models import OrgNode
from onecard.pos import services
from onecard.pos.forms import TerminalForm

_SESSION_KEY = "pos_issued_secret"
PERMISSION = "terminals.manage"


def _stores(user):
    ids = scope_node_ids(user)
    qs = OrgNode.objects.filter(kind=NodeKind.STORE, is_active=True).order_by("merchant_id", "path")
    return qs if ids is None else qs.filter(id__in=ids)


def _terminal_or_404(user, pk):
    terminal = services.scoped_terminals(user).filter(pk=pk).first()
    if terminal is None:  # out of scope looks exactly like missing
        raise Http404
    return terminal


def _hand_over_secret(request, issued):
    request.session[_SESSION_KEY] = {"pk": issued.terminal.pk, "secret": issued.secret}


@login_required
@permission_required(PERMISSION, raise_exception=True)
def terminal_list(request):
    """Terminals of the stores in the viewer's scope, searchable by id, name or store."""
    qs = services.scoped_terminals(request.user).order_by("store__path", "terminal_id")
    q = (request.GET.get("q") or "").strip()
    if q:
        qs = qs.filter(Q(terminal_id__icontains=q) | Q(name__icontains=q) | Q(store__name__icontains=q))
    status = request.GET.get("status")
    if status in ("active", "inactive"):
        qs = qs.filter(is_active=(status == "active"))
    page = page_of(request, qs, 50)
    return render(
        request,
        "pos/terminal_list.html",
        {"page": page, "params": request.GET, "query": filters_query(request.GET)},
    )


@login_required
@permission_required(PERMISSION, raise_exception=True)
@require_http_methods(["GET", "POST"])
def terminal_create(request):
    """Register a terminal at a store in scope; the next page shows its secret once."""
    stores = _stores(request.user)
    initial = {"store": request.user.node_id} if request.user.node_id else {}
    form = TerminalForm(request.POST or None, stores=stores, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            issued = services.register_terminal(request.user, **form.cleaned_data)
        except BusinessError as exc:
            apply_service_errors(form, exc)
        else:
            _hand_over_secret(request, issued)
            messages.success(
                request, _("Terminal %(id)s was registered.") % {"id": issued.terminal.terminal_id}
            )
            return redirect("pos:terminal_detail", pk=issued.terminal.pk)
    return render(request, "pos/terminal_form.html", {"form": form})


@login_required
@permission_required(PERMISSION, raise_exception=True)
def terminal_detail(request, pk):
    """One terminal; right after registration or rotation, its secret, this one time only."""
    terminal = _terminal_or_404(request.user, pk)
    handed = request.session.pop(_SESSION_KEY, None)
    secret = handed["secret"] if handed and handed.get("pk") == terminal.pk else None
    response = render(request, "pos/terminal_detail.html", {"terminal": terminal, "secret": secret})
    add_never_cache_headers(response)
    return response


@login_required
@permission_required(PERMISSION, raise_exception=True)
@require_POST
def terminal_rotate(request, pk):
    """A new secret; the old one stops working at once."""
    terminal = _terminal_or_404(request.user, pk)
    issued = call_and_flash(
        request,
        lambda: services.rotate_secret(request.user, terminal),
        _("A new secret was issued; the old one no longer works."),
    )
    if issued is not None:
        _hand_over_secret(request, issued)
    return redirect("pos:terminal_detail", pk=terminal.pk)


@login_required
@permission_required(PERMISSION, raise_exception=True)
@require_POST
def terminal_deactivate(request, pk):
    """The terminal can no longer sign requests."""
    terminal = _terminal_or_404(request.user, pk)
    call_and_flash(
        request,
        lambda: services.deactivate_terminal(request.user, terminal),
        _("Terminal %(id)s was deactivated.") % {"id": terminal.terminal_id},
    )
    return redirect("pos:terminal_detail", pk=terminal.pk)
