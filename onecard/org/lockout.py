"""Log-in lock-out: the policy, the lock that holds an account name or an address back, and the backend
that refuses a locked log-in before any password is checked.

Every log-in goes through `django.contrib.auth.authenticate` (the log-in page, Django's admin, the API
token, a manager's approval at the till, the till's quick log-in by PIN or staff card), so the lock is checked in one place: `LockoutBackend`, first of
AUTHENTICATION_BACKENDS. Failures are counted by the `user_login_failed` receiver (org.signals), which
calls `services.record_login_failure`; an administrator lifts a lock with `services.unlock_staff`.
"""

import datetime
import math
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from onecard.core.middleware import client_ip

from .choices import LockScope
from .models import LoginLock


@dataclass(frozen=True)
class LockoutPolicy:
    """How many failures within `window` lock an account name or an address, and for how long."""

    account_limit: int
    address_limit: int
    window: datetime.timedelta
    cool_off: datetime.timedelta


def policy() -> LockoutPolicy:
    """The policy of the settings (ONECARD_LOGIN_*), read on every call so tests may change them."""
    return LockoutPolicy(
        account_limit=settings.ONECARD_LOGIN_FAILURE_LIMIT,
        address_limit=settings.ONECARD_LOGIN_ADDRESS_FAILURE_LIMIT,
        window=datetime.timedelta(seconds=settings.ONECARD_LOGIN_FAILURE_WINDOW),
        cool_off=datetime.timedelta(seconds=settings.ONECARD_LOGIN_COOL_OFF),
    )


def active_locks():
    """Locks in force now: neither past their cool-off nor lifted by an administrator."""
    return LoginLock.objects.filter(until__gt=timezone.now(), lifted_at__isnull=True)


def active_lock(username, ip):
    """The lock that refuses a log-in as `username` from `ip` (the one that lasts longest), or None."""
    holds = Q()
    if username:
        holds |= Q(scope=LockScope.ACCOUNT, key=username)
    if ip:
        holds |= Q(scope=LockScope.ADDRESS, key=ip)
    if not holds:
        return None
    return active_locks().filter(holds).order_by("-until", "scope").first()


def active_account_lock(username):
    """The lock-out of this account name in force now, or None."""
    return active_locks().filter(scope=LockScope.ACCOUNT, key=username).order_by("-until").first()


def seconds_left(lock) -> int:
    """Whole seconds until the lock ends by itself (for Retry-After), at least 1."""
    return max(1, math.ceil((lock.until - timezone.now()).total_seconds()))


def lockout_message(lock) -> str:
    """What a refused person reads, in their language: until when, and who can help sooner."""
    until = timezone.localtime(lock.until)
    shown = (
        until.strftime("%H:%M") if until.date() == timezone.localdate() else until.strftime("%Y-%m-%d %H:%M")
    )
    return _(
        "Too many failed log-in attempts: logging in is locked until %(time)s. Try again then, "
        "or ask an administrator to unlock your account."
    ) % {"time": shown}


def refusing_lock(request):
    """The lock that refused this request's log-in (set by LockoutBackend), or None."""
    return getattr(request, "login_lock", None)


class LockoutBackend:
    """First of AUTHENTICATION_BACKENDS: refuses every log-in of a locked account name or from a locked address.

    Django's `authenticate` stops at a backend's PermissionDenied and reports the attempt as failed
    (`user_login_failed`). The lock is left on the request, so the receiver audits a refusal instead of
    counting a wrong password, and the log-in page and the token endpoint say why and until when.
    It has no `get_user`: it never logs anyone in, and sessions keep naming the backend that did.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        lock = active_lock(username, client_ip(request) if request is not None else None)
        if lock is None:
            return None  # the next backend checks the password
        if request is not None:
            request.login_lock = lock
        raise PermissionDenied("log-in locked")
