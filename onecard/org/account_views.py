"""Logging in (by password, or quickly at the till), and the logged-in staff member's own account: their
language, changing their password, their till PIN."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from onecard.core.errors import BusinessError
from onecard.core.permissions import require_perms

from . import lockout, services, staff_sessions, till_login
from .forms import LanguageForm, TillLoginForm, TillPinForm, apply_service_errors


class LockoutAwareAuthenticationForm(AuthenticationForm):
    """Django's log-in form, telling a lock-out (org.lockout) apart from a wrong password."""

    def get_invalid_login_error(self):
        lock = lockout.refusing_lock(self.request)
        if lock is None:
            return super().get_invalid_login_error()
        return ValidationError(lockout.lockout_message(lock), code="locked")


class LoginView(auth_views.LoginView):
    """The log-in page; a locked account or address reads until when, answered 429 with Retry-After."""

    form_class = LockoutAwareAuthenticationForm
    redirect_authenticated_user = True

    def form_invalid(self, form):
        lock = lockout.refusing_lock(self.request)
        response = self.render_to_response(
            self.get_context_data(form=form, locked_message=lockout.lockout_message(lock) if lock else "")
        )
        if lock is not None:
            response.status_code = 429
            response["Retry-After"] = str(lockout.seconds_left(lock))
        return response


@login_required
@require_http_methods(["GET", "POST"])
def profile(request):
    """My account: the language of my pages (saved on my account, so every browser follows it)."""
    user = request.user
    form = LanguageForm(request.POST or None, initial={"language": user.language})
    if request.method == "POST" and form.is_valid():
        language = form.cleaned_data["language"]
        try:
            services.set_staff_language(user, user, language)
        except BusinessError as exc:
            apply_service_errors(form, exc)
        else:
            translation.activate(language or settings.LANGUAGE_CODE)
            messages.success(request, _("Your language was saved."))
            target = request.POST.get("next") or request.path
            if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
                target = request.path
            response = HttpResponseRedirect(target)
            # The log-in page of this browser follows too.
            response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language or settings.LANGUAGE_CODE)
            return response
    return render(request, "org/profile.html", {"form": form})


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's own-password page, writing through the staff service so that the change is audited."""

    def form_valid(self, form):
        user = self.request.user
        session = self.request.session
        try:
            services.set_staff_password(
                user, user, form.cleaned_data["new_password1"], keep_session_key=session.session_key
            )
        except BusinessError as exc:
            for message in getattr(exc, "errors", {}).get("password", [exc.message]):
                form.add_error("new_password1", str(message))
            return self.form_invalid(form)
        old_key = session.session_key
        update_session_auth_hash(self.request, user)  # stay logged in on this device, under a new key
        staff_sessions.renewed(old_key, session.session_key)
        messages.success(self.request, _("Your password was changed."))
        return HttpResponseRedirect(self.get_success_url())


@login_required
@require_http_methods(["GET", "POST"])
def till_pin(request):
    """My till PIN: set or change it after the current password (for staff who work the till)."""
    user = request.user
    require_perms(user, "till.operate")
    form = TillPinForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            till_login.set_till_pin(user, user, data["pin"], current_password=data["current_password"])
        except BusinessError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Your till PIN was saved."))
            return redirect("profile")
    return render(request, "org/till_pin.html", {"form": form, "has_pin": bool(user.till_pin)})


def _safe_next(request):
    """The page to go back to after the log-in, checked as Django's log-in view checks it."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return ""


@require_http_methods(["GET", "POST"])
def till_login_view(request):
    """换人's page: one swipe of a staff card, or a staff code and the till PIN, logs the next cashier in."""
    next_url = _safe_next(request)
    if request.user.is_authenticated:
        return redirect(next_url or settings.LOGIN_REDIRECT_URL)
    signed = request.POST.get("till") or request.GET.get("till") or ""
    store = till_login.store_of(signed)
    password_url = reverse("login") + (f"?{urlencode({'next': next_url})}" if next_url else "")
    context = {"store": store, "till": signed, "next": next_url, "password_url": password_url}
    if store is None:
        context["error"] = _("This till's link is not valid. Log in with your password.")
        return render(request, "registration/till_login.html", context, status=400)
    form = TillLoginForm(request.POST or None)
    context["form"] = form
    if request.method != "POST" or not form.is_valid():
        return render(request, "registration/till_login.html", context)
    staff, method = till_login.check(request, store, form.cleaned_data["entry"], form.cleaned_data["pin"])
    if staff is None:
        lock = lockout.refusing_lock(request)
        if lock is None:
            context["error"] = _("Wrong staff code or PIN, or an unknown staff card. Please try again.")
            return render(request, "registration/till_login.html", context)
        context["error"] = lockout.lockout_message(lock)
        response = render(request, "registration/till_login.html", context, status=429)
        response["Retry-After"] = str(lockout.seconds_left(lock))
        return response
    reason = till_login.refusal(staff, store)
    if reason is not None:
        till_login.record_refusal(staff, store, method, "quick log-in not allowed")
        context["error"] = reason
        return render(request, "registration/till_login.html", context, status=403)
    till_login.log_in(request, staff, store, method)
    return redirect(next_url or settings.LOGIN_REDIRECT_URL)
