"""Every write to terminals: register, rotate the secret, deactivate; plus the nonce store.

Each management write is audited and checked against the actor's scope (a store manager manages the
terminals of their store and below). The secret is returned to the caller once, never logged.
"""

import datetime
import re
import secrets
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from onecard.core import audit
from onecard.core.errors import BusinessError, PermissionDenied, ValidationFailed
from onecard.core.scoping import node_in_scope, scope
from onecard.org.choices import NodeKind
from onecard.org.models import OrgNode
from onecard.pos import signing
from onecard.pos.choices import TerminalKind
from onecard.pos.models import Terminal, UsedNonce

SECRET_BYTES = 32  # 256 bits, as 43 URL-safe characters
_AUDITED = ["store", "name", "kind", "terminal_id", "is_active"]


@dataclass(frozen=True)
class IssuedSecret:
    """A terminal together with its secret in clear: show it once, then let it go."""

    terminal: Terminal
    secret: str


def new_secret() -> str:
    return secrets.token_urlsafe(SECRET_BYTES)


def scoped_terminals(user):
    """Terminals of the stores in the user's scope."""
    return scope(Terminal.objects.select_related("store", "store__merchant"), user, "store")


def _check_scope(actor, store):
    if actor is not None and not node_in_scope(actor, store):
        raise PermissionDenied(_("This store belongs to a part of the organisation you cannot manage."))


def _id_prefix(store):
    code = re.sub(r"[^A-Z0-9]", "", store.code.upper())[:20] or str(store.pk)
    return f"T-{code}-"


def _next_terminal_id(store):
    """T-<store code>-0001, -0002... per store; a store code used by two merchants gets the next free number."""
    prefix = _id_prefix(store)
    taken = set(Terminal.objects.filter(terminal_id__startswith=prefix).values_list("terminal_id", flat=True))
    n = sum(1 for t in taken if t[len(prefix) :].isdigit()) + 1
    while f"{prefix}{n:04d}" in taken:
        n += 1
    return f"{prefix}{n:04d}"


@transaction.atomic
def register_terminal(actor, *, store, name, kind=TerminalKind.POS) -> IssuedSecret:
    """A new terminal of `store` (a store in the actor's scope) with a fresh secret, returned once."""
    _check_scope(actor, store)
    errors = {}
    if store.kind != NodeKind.STORE:
        errors["store"] = [_("Terminals belong to a store.")]
    elif not store.is_active:
        errors["store"] = [_("This store is inactive.")]
    if not (name or "").strip():
        errors["name"] = [_("Name is required.")]
    if kind not in TerminalKind.values:
        errors["kind"] = [_("Unknown terminal type.")]
    if errors:
        raise ValidationFailed(errors)
    # Serialise numbering per store: a row lock on PostgreSQL; SQLite already holds the write lock.
    OrgNode.objects.select_for_update().filter(pk=store.pk).first()
    secret = new_secret()
    terminal = Terminal.objects.create(
        store=store,
        name=name.strip(),
        kind=kind,
        terminal_id=_next_terminal_id(store),
        secret=secret,
        secret_rotated_at=timezone.now(),
    )
    audit.record(actor, "create", terminal, after=audit.snapshot(terminal, _AUDITED))
    return IssuedSecret(terminal, secret)


def _lock_terminal(actor, terminal) -> Terminal:
    """`terminal` read again under a row lock, once `actor` is known to manage its store."""
    _check_scope(actor, terminal.store)
    return Terminal.objects.select_for_update().select_related("store").get(pk=terminal.pk)


@transaction.atomic
def rotate_secret(actor, terminal) -> IssuedSecret:
    """A new secret for the terminal; the old one stops working at once."""
    terminal = _lock_terminal(actor, terminal)
    if not terminal.is_active:
        raise BusinessError(_("This terminal is deactivated."), code="terminal_inactive")
    secret = new_secret()
    terminal.secret = secret
    terminal.secret_rotated_at = timezone.now()
    terminal.save(update_fields=["secret", "secret_rotated_at"])
    audit.record(
        actor,
        "update",
        terminal,
        after={"secret_rotated_at": terminal.secret_rotated_at},
        note="secret rotated",
    )
    return IssuedSecret(terminal, secret)


@transaction.atomic
def deactivate_terminal(actor, terminal) -> Terminal:
    """The terminal can no longer sign requests; its history stays. Deactivation is final."""
    terminal = _lock_terminal(actor, terminal)
    if not terminal.is_active:
        return terminal
    terminal.is_active = False
    terminal.save(update_fields=["is_active"])
    audit.record(actor, "update", terminal, before={"is_active": True}, after={"is_active": False})
    return terminal


# ---- used by the authentication of signed requests --------------------------------------------------


def remember_nonce(terminal, nonce, *, now=None) -> bool:
    """Record that `terminal` used `nonce`; False when it was used before (a replay).

    One INSERT ... ON CONFLICT DO NOTHING on the unique (terminal, nonce) index, committed at once
    (autocommit), so every web process sees it; a concurrent duplicate waits for the first and loses.
    """
    now = now or timezone.now()
    qn = connection.ops.quote_name
    table = qn(UsedNonce._meta.db_table)
    created_at = UsedNonce._meta.get_field("created_at").get_db_prep_value(now, connection)
    sql = (
        f"INSERT INTO {table} ({qn('terminal_id')}, {qn('nonce')}, {qn('created_at')}) VALUES (%s, %s, %s) "  # noqa: S608 - names from the models, values bound
        f"ON CONFLICT ({qn('terminal_id')}, {qn('nonce')}) DO NOTHING RETURNING {qn('id')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [terminal.pk, nonce, created_at])
        return cursor.fetchone() is not None


def purge_nonces(*, now=None) -> int:
    """Forget nonces older than 15 minutes (they are refused by their timestamp by then)."""
    cutoff = (now or timezone.now()) - datetime.timedelta(seconds=signing.NONCE_PURGE_AFTER_SECONDS)
    deleted, _by_model = UsedNonce.objects.filter(created_at__lt=cutoff).delete()
    return deleted


LAST_SEEN_EVERY = datetime.timedelta(seconds=60)


def touch_last_seen(terminal, *, now=None):
    """Note when the terminal was last seen, at most once a minute (no write on most requests)."""
    now = now or timezone.now()
    if terminal.last_seen_at is None or now - terminal.last_seen_at >= LAST_SEEN_EVERY:
        Terminal.objects.filter(pk=terminal.pk).update(last_seen_at=now)
        terminal.last_seen_at = now
