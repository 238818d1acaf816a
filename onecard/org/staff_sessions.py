"""Staff members' web sessions: started at log-in, seen on each request, ended when idle too long, too old,
revoked from a list, or when the password or roles change (docs/security.md).

A session is live while its StaffSession row exists; org.middleware.SessionLimitMiddleware logs out any
logged-in browser whose row is gone or past its limits. Rows hold a hash of the session key, never the key.
"""

import datetime
import hashlib
from dataclasses import dataclass
from importlib import import_module

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from onecard.core import audit

from .models import StaffSession
from .permissions import SECOND_FACTOR_PERMISSIONS

TILL = "till"
OFFICE = "office"
# last_seen_at is written at most this often: not one write per request (the idle limit is then exact
# to within this much).
SEEN_EVERY = datetime.timedelta(seconds=60)


@dataclass(frozen=True)
class Limits:
    idle: datetime.timedelta
    lifetime: datetime.timedelta


def profile_for(staff) -> str:
    """ "till" for people who work the till and hold nothing that needs the second factor (cashiers), else "office".

    A till is shared by several cashiers, so its sessions end sooner when left alone.
    """
    codes = staff.permission_codes
    if "till.operate" in codes and not staff.is_superuser and not codes & SECOND_FACTOR_PERMISSIONS:
        return TILL
    return OFFICE


def limits(profile) -> Limits:
    """The idle and absolute limits of a kind of session, from settings (ONECARD_*SESSION_*)."""
    if profile == TILL:
        return Limits(
            datetime.timedelta(minutes=settings.ONECARD_TILL_SESSION_IDLE_MINUTES),
            datetime.timedelta(hours=settings.ONECARD_TILL_SESSION_MAX_HOURS),
        )
    return Limits(
        datetime.timedelta(minutes=settings.ONECARD_SESSION_IDLE_MINUTES),
        datetime.timedelta(hours=settings.ONECARD_SESSION_MAX_HOURS),
    )


def key_hash(session_key) -> str:
    return hashlib.sha256(session_key.encode()).hexdigest()


def start(staff, session_key, *, ip=None, user_agent="", when=None):
    """Record a new log-in's session (called when Django logs someone in)."""
    when = when or timezone.now()
    session, _created = StaffSession.objects.update_or_create(
        key_hash=key_hash(session_key),
        defaults={
            "staff": staff,
            "profile": profile_for(staff),
            "ip": ip,
            "user_agent": (user_agent or "")[:255],
            "created_at": when,
            "last_seen_at": when,
        },
    )
    return session


def find(session_key):
    """The live row of a session key, or None."""
    if not session_key:
        return None
    return StaffSession.objects.filter(key_hash=key_hash(session_key)).first()


def why_over(session, when) -> str | None:
    """ "idle" or "lifetime" when the session is past a limit, else None."""
    limit = limits(session.profile)
    if when - session.created_at > limit.lifetime:
        return "lifetime"
    if when - session.last_seen_at > limit.idle:
        return "idle"
    return None


def seen(session, when):
    """Note activity; written at most once a minute (SEEN_EVERY)."""
    if when - session.last_seen_at >= SEEN_EVERY:
        StaffSession.objects.filter(pk=session.pk).update(last_seen_at=when)
        session.last_seen_at = when


def renewed(old_key, new_key):
    """The session kept its log-in under a new key (Django renews the key when a password changes)."""
    StaffSession.objects.filter(key_hash=key_hash(old_key)).update(key_hash=key_hash(new_key))


def logged_out(session_key):
    """Forget the row of a session its owner logged out of (the log-out itself is audited as such)."""
    StaffSession.objects.filter(key_hash=key_hash(session_key)).delete()


def live_sessions(staff, when=None):
    """The staff's sessions that are not past a limit, most recently seen first."""
    when = when or timezone.now()
    return [s for s in StaffSession.objects.filter(staff=staff) if why_over(s, when) is None]


@transaction.atomic
def end(actor, session, reason):
    """End one session (revoked from a list, or found past a limit); audited with the reason."""
    deleted = StaffSession.objects.filter(pk=session.pk).delete()[0]
    if deleted:
        audit.record(
            actor,
            "session_end",
            session.staff,
            node=session.staff.node,
            after={"started": session.created_at, "ip": session.ip},
            note=reason,
        )
    return bool(deleted)


@transaction.atomic
def end_all(actor, staff, *, reason, keep_key=None, revoke_token=True):
    """End every session of `staff` (but the one of `keep_key`) and, unless told not to, its API token."""
    sessions = StaffSession.objects.filter(staff=staff)
    if keep_key:
        sessions = sessions.exclude(key_hash=key_hash(keep_key))
    ended = sessions.delete()[0]
    revoked = Token.objects.filter(user=staff).delete()[0] if revoke_token else 0
    if ended or revoked:
        audit.record(
            actor,
            "session_end",
            staff,
            node=staff.node,
            after={"sessions": ended, "api_token": bool(revoked)},
            note=reason,
        )
    return ended


def purge_stale(when=None):
    """Forget rows of sessions past their limits (browsers that never came back), and Django's expired
    sessions (what `clearsessions` does); returns how many rows of ours went."""
    when = when or timezone.now()
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
    stale = [
        s.pk
        for s in StaffSession.objects.only("pk", "profile", "created_at", "last_seen_at")
        if why_over(s, when)
    ]
    for start_at in range(0, len(stale), 500):
        StaffSession.objects.filter(pk__in=stale[start_at : start_at + 500]).delete()
    return len(stale)
