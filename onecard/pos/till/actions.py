"""What the till's money actions share: yuan for the screen, one-time tokens, a form's errors in one line,
running an action once per token, and the refund approval limit.

Every money action carries a one-time token (a hidden field) used as the idempotency key, scope
"till:<staff id>", so a double click or a browser resubmit takes effect once.
"""

import functools
import uuid

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from onecard.core.errors import BusinessError, PermissionDenied
from onecard.core.idempotency import run_idempotent
from onecard.core.money import fen_to_yuan_str


def yuan(fen) -> str:
    """Fen as the till shows them: yuan with two decimals, nothing as 0.00."""
    return fen_to_yuan_str(fen or 0)


def new_token() -> str:
    """A fresh one-time token for a form."""
    return uuid.uuid4().hex


def form_error(form) -> str:
    """Every message of an invalid form, in one line."""
    return " ".join(str(m) for errors in form.errors.values() for m in errors)


def run_once(request, token, payload, fn):
    """Run `fn` once per token; (body, None, "") on success, (None, message, code) on refusal."""
    try:
        result = run_idempotent(token, payload, fn, scope=f"till:{request.user.pk}")
    except BusinessError as exc:  # the token reused with other data, a malformed token
        return None, str(exc.message), exc.code
    if result.status < 300:
        return result.body, None, ""
    body = result.body or {}
    return None, str(body.get("detail") or _("The request could not be processed.")), body.get("code", "")


def till_action(run, form_class):
    """Makes `do(request, data, card, store) -> (payload, fn, answer)` a signed-in POST view.

    `run(request, form_class, do)` is the screen's own part: the permission, the store and card, the form,
    running `fn` once per token, and what it shows after (`answer(body)`) or on a refusal.
    """

    def decorate(do):
        @login_required
        @require_POST
        @functools.wraps(do)
        def view(request):
            return run(request, form_class, functools.partial(do, request))

        return view

    return decorate


def refund_approval_limit() -> int:
    """Refunds above this many fen need till.refund_large (a store manager or above)."""
    return int(getattr(settings, "ONECARD_TILL_REFUND_APPROVAL_FEN", 50_000))


class RefundNeedsManager(PermissionDenied):
    """A refund above the approval limit, asked for by staff without till.refund_large."""

    code = "refund_needs_manager"


def check_refund_approval(user, amount, limit=None):
    """Refuse a refund of `amount` fen above the approval limit unless `user` holds till.refund_large."""
    limit = refund_approval_limit() if limit is None else limit
    if amount > limit and not user.has_perm("till.refund_large"):
        raise RefundNeedsManager(
            _("Refunds above ¥%(limit)s need a store manager.") % {"limit": fen_to_yuan_str(limit)}
        )
