"""The second factor of a log-in: who needs it, enrolling an authenticator, checking a code, recovery codes,
an administrator's reset. Every enrolment, refused code, recovery code used and reset is audited.

A web session carries the proof of the second step as a flag (`mark_verified`); the gate that sends a
session without it to the second step is org.middleware.SecondFactorMiddleware (docs/security.md).
"""

import datetime
import hashlib
import secrets

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from onecard.core import audit
from onecard.core.errors import BusinessError, PermissionDenied
from onecard.core.scoping import node_in_scope

from . import staff_sessions, totp
from .models import RecoveryCode, SecondFactor, Staff
from .permissions import SECOND_FACTOR_PERMISSIONS

RECOVERY_CODES = 10
# Consecutive wrong codes before the second step is refused for a while: six digits with three steps
# accepted at a time must not be guessable by trying (ASVS 2.2.1).
MAX_FAILURES = 5
BLOCK_FOR = datetime.timedelta(minutes=15)
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off paper
SESSION_FLAG = "onecard_second_factor"


class SecondFactorError(BusinessError):
    code = "invalid_second_factor"


# ---- who needs it --------------------------------------------------------------------------------------


def holds_sensitive_permissions(staff) -> bool:
    """A superuser, or someone holding a permission of SECOND_FACTOR_PERMISSIONS."""
    return staff.is_superuser or bool(staff.permission_codes & SECOND_FACTOR_PERMISSIONS)


def must_use_second_factor(staff) -> bool:
    """True when this person may not work without the second factor (settings.ONECARD_REQUIRE_SECOND_FACTOR)."""
    return settings.ONECARD_REQUIRE_SECOND_FACTOR and holds_sensitive_permissions(staff)


def confirmed_factor(staff):
    """The staff's enrolled authenticator, or None."""
    return SecondFactor.objects.filter(staff=staff, confirmed_at__isnull=False).first()


def needs_second_step(staff) -> bool:
    """A password alone does not finish this person's log-in: they have an authenticator, or must get one."""
    return must_use_second_factor(staff) or confirmed_factor(staff) is not None


@transaction.atomic
def enrol_demo_account(staff, secret):
    """The demo's accounts get the published demo key, confirmed and without recovery codes (org.demo)."""
    SecondFactor.objects.update_or_create(
        staff=staff, defaults={"secret_sealed": totp.seal(secret), "confirmed_at": timezone.now()}
    )


@transaction.atomic
def retire_published_key(actor, secret):
    """Take away every authenticator enrolled with the demo's published key (org.demo); audited per account.

    Run when a real merchant is created, as the demo's published password is retired
    (services.create_merchant): a key everybody can read proves nothing. Whoever logs in to such an account
    again sets up a key of their own. Returns the staff whose key went.
    """
    retired = []
    for factor in SecondFactor.objects.select_related("staff__node").order_by("pk"):
        try:
            published = totp.unseal(factor.secret_sealed) == secret
        except totp.SecretUnreadable:
            continue  # not openable with this installation's key: not the demo's, which this one sealed
        if not published:
            continue
        staff = factor.staff
        factor.delete()
        RecoveryCode.objects.filter(staff=staff).delete()
        audit.record(actor, "second_factor", staff, node=staff.node, note="published demo key removed")
        retired.append(staff)
    return retired


# ---- the session's flag -------------------------------------------------------------------------------


def mark_verified(session, staff):
    """Record in the web session that this person passed the second step (or enrolled) in it."""
    session[SESSION_FLAG] = str(staff.pk)


def is_verified(session, staff) -> bool:
    return session.get(SESSION_FLAG) == str(staff.pk)


# ---- enrolment ---------------------------------------------------------------------------------------


@transaction.atomic
def start_enrolment(staff):
    """The secret to show as a QR code: a new one, or the one already shown and not yet confirmed."""
    factor = SecondFactor.objects.select_for_update().filter(staff=staff).first()
    if factor is not None and factor.is_confirmed:
        raise BusinessError(
            _("Two-step verification is already on for this account."), code="already_enrolled"
        )
    if factor is None:
        factor = SecondFactor.objects.create(staff=staff, secret_sealed=totp.seal(totp.new_secret()))
    return totp.unseal(factor.secret_sealed)


def provisioning_uri(staff, secret):
    return totp.provisioning_uri(secret, staff.get_username(), settings.ONECARD_SECOND_FACTOR_ISSUER)


def confirm_enrolment(staff, code, *, when=None):
    """Turn the authenticator on with its first code; returns the recovery codes, shown this once."""
    when = when or timezone.now()
    with transaction.atomic():
        factor = SecondFactor.objects.select_for_update().filter(staff=staff).first()
        if factor is None or factor.is_confirmed:
            raise BusinessError(_("Start the enrolment again."), code="enrolment_not_started")
        step = totp.matching_step(totp.unseal(factor.secret_sealed), code, when)
        if step is not None:
            factor.confirmed_at = when
            factor.last_used_step = step
            factor.failures = 0
            factor.save(update_fields=["confirmed_at", "last_used_step", "failures"])
            codes = _new_recovery_codes(staff)
            audit.record(staff, "second_factor", staff, node=staff.node, note="enrolled")
            return codes
    raise SecondFactorError(_("That code is not right. Type the code your app shows now."))


def _new_recovery_codes(staff):
    RecoveryCode.objects.filter(staff=staff).delete()
    codes = []
    for _i in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _j in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    RecoveryCode.objects.bulk_create(RecoveryCode(staff=staff, code_hash=_hash(c)) for c in codes)
    return codes


def _normalised(code):
    return "".join(ch for ch in (code or "").lower() if ch.isalnum())


def _hash(code):
    # A plain SHA-256 is enough: a code carries 49 random bits and guesses are limited per account.
    return hashlib.sha256(_normalised(code).encode()).hexdigest()


# ---- the second step --------------------------------------------------------------------------------


def verify(staff, code, *, when=None):
    """Check a code from the authenticator or a recovery code; returns "totp" or "recovery".

    A wrong, reused or blocked code raises SecondFactorError (status 400, or 429 while blocked) after the
    refusal has been counted and audited in its own transaction.
    """
    when = when or timezone.now()
    factor = confirmed_factor(staff)
    if factor is None:
        raise SecondFactorError(_("This account has no two-step verification."), code="not_enrolled")
    if factor.blocked_until is not None and factor.blocked_until > when:
        raise _blocked_error(factor)
    digits = _normalised(code)
    if len(digits) == totp.DIGITS and digits.isdigit():
        step = totp.matching_step(
            totp.unseal(factor.secret_sealed), digits, when, after_step=factor.last_used_step
        )
        # The conditional update is what makes a code single-use, also when two requests race with it.
        if step is not None and SecondFactor.objects.filter(pk=factor.pk, last_used_step__lt=step).update(
            last_used_step=step, failures=0, blocked_until=None
        ):
            return "totp"
    elif digits:
        with transaction.atomic():
            used = RecoveryCode.objects.filter(
                staff=staff, code_hash=_hash(code), used_at__isnull=True
            ).update(used_at=when)
            if used:
                SecondFactor.objects.filter(pk=factor.pk).update(failures=0, blocked_until=None)
                left = remaining_recovery_codes(staff)
                audit.record(
                    staff, "second_factor", staff, node=staff.node, note=f"recovery code used, {left} left"
                )
                return "recovery"
    _count_failure(staff, factor, when)
    factor.refresh_from_db(fields=["blocked_until", "failures"])
    if factor.blocked_until is not None and factor.blocked_until > when:
        raise _blocked_error(factor)
    raise SecondFactorError(
        _("That code is not right, or it was used already. Type the code your app shows now.")
    )


@transaction.atomic
def _count_failure(staff, factor, when):
    SecondFactor.objects.filter(pk=factor.pk).update(failures=F("failures") + 1)
    failures = SecondFactor.objects.values_list("failures", flat=True).get(pk=factor.pk)
    note = "code refused"
    if failures >= MAX_FAILURES:
        SecondFactor.objects.filter(pk=factor.pk).update(failures=0, blocked_until=when + BLOCK_FOR)
        note = f"code refused; blocked for {int(BLOCK_FOR.total_seconds() // 60)} minutes"
    audit.record(staff, "second_factor", staff, node=staff.node, note=note)


def _blocked_error(factor):
    seconds = (factor.blocked_until - timezone.now()).total_seconds()
    minutes = max(1, -int(-seconds // 60))  # rounded up: "in 15 minutes" right after the block
    return SecondFactorError(
        ngettext(
            "Too many wrong codes. Try again in %(minutes)d minute.",
            "Too many wrong codes. Try again in %(minutes)d minutes.",
            minutes,
        )
        % {"minutes": minutes},
        code="second_factor_blocked",
        status=429,
        extra={"blocked_until": factor.blocked_until.isoformat()},
    )


def remaining_recovery_codes(staff) -> int:
    return RecoveryCode.objects.filter(staff=staff, used_at__isnull=True).count()


# ---- reset by an administrator -----------------------------------------------------------------------


@transaction.atomic
def reset(actor, staff):
    """Take someone's authenticator and recovery codes away (a lost phone); their sessions and API token end.

    At the next log-in they enrol again if their roles require it. Nobody resets their own: that would let
    a stolen password replace the second factor.
    """
    if actor is not None:
        if actor.pk == staff.pk:
            raise BusinessError(
                _("You cannot reset your own two-step verification; ask another administrator."),
                code="self_second_factor_reset",
                status=403,
            )
        if not actor.has_perm("staff.manage") or not node_in_scope(actor, staff.node):
            raise PermissionDenied()
    removed = SecondFactor.objects.filter(staff=staff).delete()[0]
    RecoveryCode.objects.filter(staff=staff).delete()
    staff_sessions.end_all(actor, staff, reason="second factor reset")
    audit.record(
        actor,
        "second_factor",
        staff,
        node=staff.node,
        note="reset" if removed else "reset (was not enrolled)",
    )
    return staff


def reset_by_username(username):
    """`onecard reset-second-factor`: the way back in for the last administrator; the shell's user is trusted."""
    staff = Staff.objects.get(username=username)
    return reset(None, staff)
