"""DRF authentication of terminals by signed requests (docs/pos-api.md).

request.user is Django's AnonymousUser and request.auth is the Terminal: a terminal is not a staff
member, holds no permission codes, and every staff-scoped query answers nothing for it, so a POS view
that forgets its own check fails closed. Views find the store as `request.auth.store`.
"""

import random
import time

from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission

from onecard.core.errors import BusinessError
from onecard.pos import services, signing
from onecard.pos.models import Terminal

AUTH_SCHEME = "OneCard-HMAC-SHA256"
# One signed request in this many also purges old nonces, so no scheduler is needed.
PURGE_ONE_IN = 500


class TerminalAuthError(BusinessError, exceptions.AuthenticationFailed):
    """401 with a stable problem code; DRF treats it as an authentication failure (WWW-Authenticate)."""

    status = 401
    status_code = 401


class InvalidTerminal(TerminalAuthError):
    code = "invalid_terminal"
    default_message = _("Unknown or deactivated terminal.")


class InvalidSignature(TerminalAuthError):
    code = "invalid_signature"
    default_message = _("The request signature does not match.")


class StaleTimestamp(TerminalAuthError):
    code = "stale_timestamp"
    default_message = _("The request time is more than 300 seconds away from the server clock.")


class ReplayedNonce(TerminalAuthError):
    code = "replayed_nonce"
    default_message = _("This nonce was already used.")


def signed_path(request) -> str:
    """The canonical request target (signing.canonical_target) rebuilt from what the server received."""
    return signing.received_target(request.path, request.META.get("QUERY_STRING", ""))


class TerminalSignatureAuthentication(BaseAuthentication):
    """X-Terminal-Id, X-Timestamp, X-Nonce, X-Signature: HMAC-SHA256 of the canonical string."""

    def authenticate(self, request):
        meta = request.META
        terminal_id = meta.get("HTTP_X_TERMINAL_ID", "").strip()
        if not terminal_id:
            return None  # not a terminal request: 401 not_authenticated
        timestamp = meta.get("HTTP_X_TIMESTAMP", "").strip()
        nonce = meta.get("HTTP_X_NONCE", "").strip()
        given = meta.get("HTTP_X_SIGNATURE", "").strip()

        terminal = Terminal.objects.select_related("store").filter(terminal_id=terminal_id[:40]).first()
        if terminal is None or not terminal.is_active or not terminal.store.is_active:
            raise InvalidTerminal()
        if not timestamp.isdigit() or len(timestamp) > 12:
            raise StaleTimestamp(_("X-Timestamp must be the time in unix seconds."))
        if abs(time.time() - int(timestamp)) > signing.MAX_SKEW_SECONDS:
            raise StaleTimestamp()
        if not signing.is_valid_nonce(nonce):
            raise InvalidSignature(_("X-Nonce must be 8 to 64 characters of A-Z a-z 0-9 - _ . ~"))
        if not given:
            raise InvalidSignature(_("X-Signature is missing."))
        canonical = signing.canonical_string(
            request.method, signed_path(request), timestamp, nonce, request._request.body
        )
        expected = signing.compute_signature(terminal.secret, canonical)
        if not signing.signatures_match(expected, given):
            raise InvalidSignature()
        # Only a correctly signed request spends its nonce, so nobody can burn a terminal's nonces.
        if not services.remember_nonce(terminal, nonce):
            raise ReplayedNonce()
        if random.randrange(PURGE_ONE_IN) == 0:  # noqa: S311 - decides when to purge old nonces, not a secret
            services.purge_nonces()
        services.touch_last_seen(terminal)
        return AnonymousUser(), terminal

    def authenticate_header(self, request):
        return AUTH_SCHEME


class IsSignedTerminal(BasePermission):
    """The request came from an active terminal with a valid signature."""

    def has_permission(self, request, view):
        return isinstance(request.auth, Terminal)
