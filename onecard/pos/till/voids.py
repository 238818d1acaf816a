"""撤销 at the till: whether a receipt offers a void, and the manager who approves one at the counter.

The void itself is sales.services.void_card_transaction (stored_value.voids): the receipt's dialog posts
to till.cards.void with a one-time token. A void past the merchant's window, or of another cashier's
operation, is approved by someone holding till.void_late: the user at the till, or a manager who types
their user name and password into the dialog (checked here with Django's authenticate).
"""

from django.contrib.auth import authenticate
from django.utils.translation import gettext_lazy as _

from onecard.core.errors import PermissionDenied
from onecard.loyalty.models.stored_value import CardTxStatus
from onecard.loyalty.stored_value import voids
from onecard.loyalty.stored_value.prepaid_settings import settings_for
from onecard.pos.till.actions import new_token
from onecard.sales.models import SaleKind, SaleTender


class ApproverNotRecognised(PermissionDenied):
    """The manager's user name and password typed into the void dialog do not match a user."""

    code = "approver_not_recognised"
    default_message = _("The manager's user name or password is wrong.")


def void_offer(user, tx, store) -> dict | None:
    """What the receipt's void dialog needs, or None when `tx` cannot be voided here by this user."""
    if (
        store is None
        or tx.store_id != store.pk
        or tx.kind not in voids.VOIDABLE_KINDS
        or tx.status != CardTxStatus.DONE
        or tx.refunded_total
        or not user.has_perm("till.operate")
        or SaleTender.objects.filter(card_transaction_id=tx.pk, sale__kind=SaleKind.CHECKOUT).exists()
    ):
        return None
    needs = voids.needs_approval(user, tx)
    return {
        "token": new_token(),
        "needs_approval": needs,
        "own": tx.actor_id == user.pk,
        "window": settings_for(store.merchant_id).void_window_minutes,
        # A manager at the till approves their own void; a cashier asks one to sign in here.
        "asks_manager": needs and not user.has_perm(voids.APPROVE_PERMISSION),
    }


def approver_from(request, username, password):
    """The manager who approves at the till (None when no user name was typed); refused when not recognised."""
    username = (username or "").strip()
    if not username:
        return None
    approver = authenticate(request, username=username, password=password or "")
    if approver is None or not approver.is_active:
        raise ApproverNotRecognised()
    return approver
