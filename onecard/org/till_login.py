"""The quick log-in at the till (换人): a staff card swipe, or a staff code and a 6-digit till PIN.

Only cashiers of the till's store may use it: active staff with `till.operate`, placed at the store or above
it, who hold nothing that needs the second factor (their session is of the "till" kind, docs/security.md).
Everyone else logs in with the password. The check of a PIN or card goes through Django's `authenticate`
(`TillLoginBackend`), so the lock-out (org.lockout) refuses and counts it as it does a password.
The till's store travels signed (`signed_store`), so the page cannot be pointed at another store.
"""

import re

from django.contrib.auth import authenticate, login
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.hashers import check_password, make_password
from django.core import signing
from django.db import transaction
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from onecard.core import audit
from onecard.core.errors import PermissionDenied, ValidationFailed
from onecard.core.scoping import node_in_scope

from . import second_factor, staff_sessions
from .choices import NodeKind
from .models import OrgNode, Staff
from .passwords import hash_holders

PIN_LENGTH = 6
# The session key of the store a till works for (pos.till.cards reads it): set at a quick log-in of
# someone placed above the store, who would otherwise have to pick it again.
TILL_STORE_SESSION_KEY = "till_store"
PIN = "till PIN"
STAFF_CARD = "staff card"
_STORE_SALT = "onecard.org.till_login.store"
_CARD_SALT = "onecard.org.till_login.staff_card"
PIN_RETIRED = "published demo till PIN removed"
_CARD_NUMBER = re.compile(r"^[0-9A-Za-z-]{4,40}$")


# ---- the PIN and the card ----------------------------------------------------------------------------


def is_trivial_pin(pin: str) -> bool:
    """A PIN anyone would try first: one digit repeated, a run up or down, or a repeated pair or triple."""
    steps = {int(b) - int(a) for a, b in zip(pin, pin[1:], strict=False)}
    return len(set(pin)) == 1 or steps in ({1}, {-1}) or pin[:2] * 3 == pin or pin[:3] * 2 == pin


def _pin_errors(pin):
    if len(pin) != PIN_LENGTH or not (pin.isascii() and pin.isdigit()):  # "²" and "４" are digits to isdigit
        return [_("The PIN is six digits.")]
    if is_trivial_pin(pin):
        return [
            _("This PIN is too easy to guess (such as 000000, 123456, a run or a repeat); choose another.")
        ]
    return []


def card_hash(merchant_id, number) -> str:
    """The stored form of a staff card: an HMAC of the merchant and the number, keyed from SECRET_KEY."""
    return salted_hmac(_CARD_SALT, f"{merchant_id}:{number}", algorithm="sha256").hexdigest()


def card_holder(store, number):
    """The staff member holding this card at the store's merchant, or None."""
    number = (number or "").strip()
    if not number:
        return None
    return Staff.objects.filter(staff_card=card_hash(store.merchant_id, number)).first()


@transaction.atomic
def set_till_pin(actor, staff, pin, *, current_password):
    """Set or change one's own till PIN, after the current password; audited, the PIN never."""
    if actor is None or actor.pk != staff.pk or not staff.has_perm("till.operate"):
        raise PermissionDenied()
    errors = {}
    if not staff.check_password(current_password or ""):
        errors["current_password"] = [_("Your password was entered incorrectly. Please enter it again.")]
    pin_errors = _pin_errors(pin or "")
    if pin_errors:
        errors["pin"] = pin_errors
    if errors:
        raise ValidationFailed(errors)
    change = "changed" if staff.till_pin else "set"
    staff.till_pin = make_password(pin)
    staff.save(update_fields=["till_pin"])
    audit.record(actor, "update", staff, node=staff.node, after={"till_pin": change})
    return staff


def give_published_pin(accounts, pin) -> list:
    """The demo's published till PIN for every account in `accounts` that may use the quick log-in; those given.

    One hash for them all (a PBKDF2 hash takes a good part of a second), as the demo's password.
    """
    given = [staff for staff in accounts if staff_sessions.profile_for(staff) == staff_sessions.TILL]
    hashed = make_password(pin)
    Staff.objects.filter(pk__in=[staff.pk for staff in given]).update(till_pin=hashed)
    for staff in given:
        staff.till_pin = hashed
    return given


def retire_published_pin(actor, pin) -> list:
    """Every till PIN that is the demo's published one is cleared and audited; the accounts cleared.

    Run when a real merchant is created, with the published password and authenticator key; each distinct
    hash is checked once.
    """
    retired = hash_holders(Staff.objects.exclude(till_pin="").select_related("node"), "till_pin", pin)
    for staff in retired:
        staff.till_pin = ""
        staff.save(update_fields=["till_pin"])
        audit.record(actor, "update", staff, node=staff.node, after={"till_pin": "cleared"}, note=PIN_RETIRED)
    return retired


def _require_manager(actor, staff):
    if actor is not None and not (actor.has_perm("staff.manage") and node_in_scope(actor, staff.node)):
        raise PermissionDenied()


@transaction.atomic
def clear_till_pin(actor, staff):
    """An administrator takes someone's till PIN away (forgotten, or seen by others); audited."""
    _require_manager(actor, staff)
    if not staff.till_pin:
        return False
    staff.till_pin = ""
    staff.save(update_fields=["till_pin"])
    audit.record(actor, "update", staff, node=staff.node, after={"till_pin": "cleared"})
    return True


@transaction.atomic
def assign_staff_card(actor, staff, number):
    """Give someone a staff card (工牌), unique within the merchant; only its keyed hash is kept; audited."""
    _require_manager(actor, staff)
    number = (number or "").strip()
    if not _CARD_NUMBER.match(number):
        raise ValidationFailed({"number": [_("A staff card number is 4 to 40 letters, digits or dashes.")]})
    if staff.node_id is None:
        raise ValidationFailed(
            {"number": [_("Only staff placed in the organisation can have a staff card.")]}
        )
    hashed = card_hash(staff.node.merchant_id, number)
    if Staff.objects.filter(staff_card=hashed).exclude(pk=staff.pk).exists():
        raise ValidationFailed({"number": [_("This staff card is already assigned to someone else.")]})
    change = "replaced" if staff.staff_card else "assigned"
    staff.staff_card = hashed
    staff.save(update_fields=["staff_card"])
    audit.record(actor, "update", staff, node=staff.node, after={"staff_card": change})
    return staff


@transaction.atomic
def remove_staff_card(actor, staff):
    """Take someone's staff card away (lost, or they left); audited."""
    _require_manager(actor, staff)
    if not staff.staff_card:
        return False
    staff.staff_card = None
    staff.save(update_fields=["staff_card"])
    audit.record(actor, "update", staff, node=staff.node, after={"staff_card": "removed"})
    return True


# ---- the till's store ---------------------------------------------------------------------------------


def signed_store(store) -> str:
    """The store id signed with SECRET_KEY, for the quick log-in page's URL and form."""
    return signing.dumps(store.pk, salt=_STORE_SALT)


def store_of(signed):
    """The active store a signed value names, or None when it is missing, forged or no store."""
    try:
        pk = signing.loads(signed or "", salt=_STORE_SALT)
    except signing.BadSignature:
        return None
    return OrgNode.objects.select_related("merchant").filter(pk=pk, kind=NodeKind.STORE).first()


def works_at(staff, store) -> bool:
    """As the till decides: the person's own store, or an active store of their merchant below their node."""
    node = staff.node
    return (
        node is not None
        and store.is_active
        and store.merchant_id == node.merchant_id
        and store.is_within(node)
    )


def refusal(staff, store) -> str | None:
    """Why this person may not use the quick log-in at this store (in their language), or None."""
    if staff_sessions.profile_for(staff) != staff_sessions.TILL or second_factor.needs_second_step(staff):
        return _(
            "Your account cannot use the quick log-in. Log in with your password (and two-step verification)."
        )
    if not works_at(staff, store):
        return _("You do not work at this store. Log in with your password.")
    return None


# ---- logging in ---------------------------------------------------------------------------------------


class TillLoginBackend(ModelBackend):
    """Checks a staff code and till PIN, or a staff card; after LockoutBackend in AUTHENTICATION_BACKENDS.

    The credentials are named `till_password` and `staff_card_key` because Django masks credentials with
    "password" or "key" in their name before it reports a failed log-in. A password log-in never reaches
    this backend (its credentials do not fit the signature), nor these credentials ModelBackend's check.
    """

    def authenticate(self, request, username=None, till_password=None, staff_card_key=None, merchant_id=None):
        staff = Staff.objects.select_related("node").filter(username=username or "").first()
        if staff_card_key is not None:
            if staff is None or staff.staff_card != card_hash(merchant_id, staff_card_key.strip()):
                return None
        elif staff is None or not staff.till_pin:
            make_password(till_password)  # as long as a real check: the time tells no one which codes exist
            return None
        elif not check_password(till_password, staff.till_pin):
            return None
        return staff if self.user_can_authenticate(staff) else None


def check(request, store, entry, pin):
    """(the staff member or None, the method): a PIN when one is typed, else `entry` is a card's number.

    Through `authenticate`, so a locked account or address is refused and a failure is counted and
    audited as a wrong password is (org.signals).
    """
    entry = (entry or "").strip()
    if pin:
        return authenticate(request, username=entry, till_password=pin), PIN
    holder = card_holder(store, entry)
    staff = authenticate(
        request,
        username=holder.username if holder else "",
        staff_card_key=entry,
        merchant_id=store.merchant_id,
    )
    return staff, STAFF_CARD


@transaction.atomic
def record_refusal(staff, store, method, reason):
    """A quick log-in with the right PIN or card by someone not allowed it: audited, not counted."""
    audit.record(
        None,
        "login_failed",
        staff,
        node=staff.node,
        after={"username": staff.username, "method": method, "store": store.code},
        note=f"refused: {reason}",
    )


def log_in(request, staff, store, method):
    """Log the cashier in as Django does (a till session, audited with the method) for the till's store."""
    request.login_method = method  # read by the log-in's audit receiver (core.signals)
    login(request, staff, backend="onecard.org.till_login.TillLoginBackend")
    if staff.node_id != store.pk:
        request.session[TILL_STORE_SESSION_KEY] = store.pk
