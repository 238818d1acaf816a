"""The second step of a log-in, enrolling an authenticator, and one's own sessions (the account area)."""

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from onecard.core.errors import BusinessError
from onecard.core.ids import parse_id

from . import second_factor, staff_sessions
from .forms import SecondFactorCodeForm


def _next_url(request, default="home"):
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return reverse(default)


def _pending(request):
    """True while this session still owes the second step: the page then shows no menu."""
    return not second_factor.is_verified(request.session, request.user)


@login_required
@require_http_methods(["GET", "POST"])
def verify(request):
    """The second step after the password: a code from the authenticator app, or a recovery code."""
    user = request.user
    if second_factor.is_verified(request.session, user):
        return HttpResponseRedirect(_next_url(request))
    if second_factor.confirmed_factor(user) is None:
        return redirect(f"{reverse('second_factor_enrol')}?{urlencode({'next': _next_url(request)})}")
    form = SecondFactorCodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            kind = second_factor.verify(user, form.cleaned_data["code"])
        except BusinessError as exc:
            form.add_error("code", str(exc.message))
            status = exc.status if exc.status == 429 else 200
        else:
            second_factor.mark_verified(request.session, user)
            if kind == "recovery":
                left = second_factor.remaining_recovery_codes(user)
                messages.warning(
                    request,
                    ngettext(
                        "You logged in with a recovery code; %(n)d is left.",
                        "You logged in with a recovery code; %(n)d are left.",
                        left,
                    )
                    % {"n": left},
                )
            return HttpResponseRedirect(_next_url(request))
    return render(
        request,
        "org/second_factor_verify.html",
        {"form": form, "next": _next_url(request), "second_factor_pending": True},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def enrol(request):
    """Two-step verification on my account: its state, or a QR code to scan and the first code to confirm."""
    user = request.user
    pending = _pending(request)
    factor = second_factor.confirmed_factor(user)
    context = {
        "next": _next_url(request),
        "second_factor_pending": pending,
        "required": second_factor.must_use_second_factor(user),
    }
    if factor is not None:
        context.update(factor=factor, recovery_left=second_factor.remaining_recovery_codes(user))
        return render(request, "org/second_factor_enrol.html", context)
    form = SecondFactorCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = second_factor.confirm_enrolment(user, form.cleaned_data["code"])
        except BusinessError as exc:
            form.add_error("code", str(exc.message))
        else:
            second_factor.mark_verified(request.session, user)
            # Shown on this answer only, never stored in clear: no redirect that could show them again.
            return render(
                request,
                "org/second_factor_codes.html",
                {"codes": codes, "next": context["next"], "second_factor_pending": False},
            )
    secret = second_factor.start_enrolment(user)
    uri = second_factor.provisioning_uri(user, secret)
    context.update(
        form=form,
        secret_groups=[secret[i : i + 4] for i in range(0, len(secret), 4)],
        # An <img> with a data: URI: no script, and allowed by the pages' Content-Security-Policy.
        qr_data_uri=segno.make(uri, error="m").svg_data_uri(scale=5, border=2),
    )
    return render(request, "org/second_factor_enrol.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def my_sessions(request):
    """My logged-in browsers: where, since when, last seen; end one, or all but this one."""
    user = request.user
    current = getattr(request, "staff_session", None)
    if request.method == "POST":
        if request.POST.get("others"):
            ended = staff_sessions.end_all(
                user,
                user,
                reason="ended by its owner",
                keep_key=request.session.session_key,
                revoke_token=False,
            )
            messages.success(
                request,
                ngettext("%(n)d other session was ended.", "%(n)d other sessions were ended.", ended)
                % {"n": ended},
            )
        else:
            pk = parse_id(request.POST.get("session"))
            session = user.sessions.filter(pk=pk).first() if pk else None
            if session is not None and (current is None or session.pk != current.pk):
                staff_sessions.end(user, session, "ended by its owner")
                messages.success(request, _("The session was ended."))
        return redirect("my_sessions")
    return render(
        request,
        "org/my_sessions.html",
        {"sessions": staff_sessions.live_sessions(user), "current": current},
    )
