"""The shift pages under /pos/shifts/ (交班): the cashier's own shift, its printable report, the managers' list
and a store's day report. Thin: parse, check who may, call pos.shifts, render.

The cashier works at the till's store (pos.till.cards.till_store). A cash movement carries a one-time
token like the till's money actions, so a double click records it once.
"""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from onecard.core.errors import BusinessError
from onecard.core.forms import show_service_error
from onecard.core.paging import filters_query, page_of
from onecard.core.permissions import require_perms
from onecard.org.queries import merchant_for_request, stores_in_scope
from onecard.pos import shifts
from onecard.pos.choices import ShiftStatus
from onecard.pos.errors import ShiftClosed
from onecard.pos.shift_forms import CashMovementForm, CloseShiftForm, OpenShiftForm
from onecard.pos.till.actions import form_error, new_token, run_once
from onecard.pos.till.cards import till_store


def _shift_or_404(user, pk):
    shift = shifts.visible_shifts(user).filter(pk=pk).first()
    if shift is None or not shifts.may_see(user, shift):  # out of scope looks exactly like missing
        raise Http404(_("No such shift."))
    return shift


def _current_page(request, store, shift, *, open_form=None, cash_form=None, close_form=None, status=200):
    context = {"store": store, "shift": shift}
    if shift is None:
        context["open_form"] = open_form or OpenShiftForm()
    else:
        figures = shifts.live_takings(shift)
        cash_in, cash_out = shifts.movements_total(shift)
        context.update(
            takings=figures,
            cash_in=cash_in,
            cash_out=cash_out,
            expected_cash=shifts.expected_cash(shift, figures),
            movements=shift.movements.select_related("actor"),
            cash_form=cash_form or CashMovementForm(initial={"token": new_token(), "kind": "in"}),
            close_form=close_form or CloseShiftForm(),
        )
    return render(request, "pos/shifts/current.html", context, status=status)


@login_required
@require_GET
def current(request):
    """The cashier's shift: open one with a float, or see the takings so far, move cash, close it."""
    require_perms(request.user, "till.operate")
    shift = shifts.open_shift_of(request.user)
    return _current_page(request, shift.store if shift else till_store(request), shift)


@login_required
@require_POST
def open_shift(request):
    """Open the cashier's shift at the till's store."""
    require_perms(request.user, "till.operate")
    store = till_store(request)
    form = OpenShiftForm(request.POST)
    if form.is_valid():
        try:
            shifts.open_shift(
                request.user, store, form.cleaned_data["opening_float"], note=form.cleaned_data["note"]
            )
        except BusinessError as exc:
            show_service_error(form, exc)
        else:
            messages.success(request, _("Your shift is open."))
            return redirect("pos:shift_current")
    return _current_page(request, store, shifts.open_shift_of(request.user), open_form=form, status=400)


@login_required
@require_POST
def cash_movement(request, pk):
    """Cash into or out of the drawer, with its reason (once per token)."""
    require_perms(request.user, "till.operate")
    shift = _shift_or_404(request.user, pk)
    form = CashMovementForm(request.POST)
    error = form_error(form) if not form.is_valid() else None
    if error is None:
        data = form.cleaned_data
        payload = {"action": "cash", "shift": shift.pk, **{k: data[k] for k in ("kind", "amount", "reason")}}

        def fn():
            shifts.record_cash_movement(request.user, shift, data["kind"], data["amount"], data["reason"])
            return 200, {"shift": shift.pk}

        _body, error, _code = run_once(request, data["token"], payload, fn)
    if error is not None:
        messages.error(request, error)
        return _current_page(request, shift.store, shift, cash_form=form, status=400)
    messages.success(request, _("The cash movement was recorded."))
    if shift.cashier_id == request.user.pk:
        return redirect("pos:shift_current")
    return redirect("pos:shift_detail", pk=shift.pk)


@login_required
@require_POST
def close(request, pk):
    """交班: the cash counted; the report follows. A second close is refused."""
    shift = _shift_or_404(request.user, pk)
    form = CloseShiftForm(request.POST)
    if form.is_valid():
        try:
            shifts.close_shift(
                request.user, shift, form.cleaned_data["counted_cash"], note=form.cleaned_data["note"]
            )
        except ShiftClosed as exc:
            # Closing twice (a second tab, a resubmit): the first close stands; show its report.
            messages.error(request, exc.message)
            return redirect("pos:shift_detail", pk=shift.pk)
        except BusinessError as exc:
            show_service_error(form, exc)
        else:
            messages.success(request, _("The shift is closed."))
            return redirect("pos:shift_detail", pk=shift.pk)
    return _current_page(request, shift.store, shift, close_form=form, status=400)


@login_required
@require_GET
def detail(request, pk):
    """The shift report, printable: takings per tender, cash in and out, expected against counted cash."""
    shift = _shift_or_404(request.user, pk)
    figures = shifts.live_takings(shift)
    cash_in, cash_out = shifts.movements_total(shift)
    return render(
        request,
        "pos/shifts/report.html",
        {
            "shift": shift,
            "takings": figures,
            "cash_in": cash_in,
            "cash_out": cash_out,
            "expected_cash": shift.expected_cash
            if shift.expected_cash is not None
            else shifts.expected_cash(shift, figures),
            "movements": shift.movements.select_related("actor"),
            "may_close": shift.status == ShiftStatus.OPEN and shifts.may_act_on(request.user, shift),
            "close_form": CloseShiftForm(),
        },
    )


def _day(text):
    try:
        return datetime.date.fromisoformat((text or "").strip())
    except ValueError:
        return None


@login_required
@require_GET
def shift_list(request):
    """Shifts of the stores in scope (managers) or one's own, newest first, by store, day and status."""
    require_perms(request.user, "till.operate", shifts.MANAGE, any_of=True)
    qs = shifts.visible_shifts(request.user)
    stores = stores_in_scope(request.user, merchant_for_request(request))
    store = request.GET.get("store") or ""
    if store.isdecimal() and store.isascii():
        qs = qs.filter(store_id=int(store))
    day = _day(request.GET.get("date"))
    if day is not None:
        qs = qs.filter(opened_at__range=shifts.day_bounds(day))
    if request.GET.get("status") in ShiftStatus.values:
        qs = qs.filter(status=request.GET["status"])
    page = page_of(request, qs.order_by("-opened_at", "-id"), 50)
    return render(
        request,
        "pos/shifts/list.html",
        {
            "page": page,
            "params": request.GET,
            "query": filters_query(request.GET),
            "stores": stores,
            "statuses": ShiftStatus.choices,
        },
    )


@login_required
@require_GET
def day_report(request):
    """A store's day, printable: every shift, the day's takings per tender, cash counted against expected."""
    require_perms(request.user, shifts.MANAGE)
    stores = list(stores_in_scope(request.user, merchant_for_request(request)))
    if not stores:
        raise Http404(_("No store in your part of the organisation."))
    picked = request.GET.get("store") or ""
    store = next((s for s in stores if str(s.pk) == picked), stores[0])
    day = _day(request.GET.get("date")) or timezone.localdate()
    return render(
        request,
        "pos/shifts/day.html",
        {"report": shifts.day_report(store, day), "stores": stores, "store": store, "day": day},
    )
