"""Failed log-ins, from wherever Django's `authenticate` reports them: counted for lock-outs and audited."""

from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver

from onecard.core.middleware import audit_context_of, client_ip

from . import lockout, services, till_login

# The credential that names a log-in at the till, and the method its audit row gives.
_TILL_METHODS = (("till_password", till_login.PIN), ("staff_card_key", till_login.STAFF_CARD))


@receiver(user_login_failed, dispatch_uid="onecard.org.record_login_failure")
def record_login_failure(sender, credentials, request=None, **kwargs):
    """A wrong password counts towards a lock-out; a refusal by a lock is only audited (org.lockout)."""
    # `credentials` has the password masked by Django; only the account name is read.
    username = str(credentials.get("username") or "")
    with audit_context_of(request):
        services.record_login_failure(
            username,
            ip=client_ip(request) if request is not None else None,
            refused_by=lockout.refusing_lock(request),
            method=next((method for name, method in _TILL_METHODS if name in credentials), ""),
        )
