"""Two-step verification in tests: a known authenticator secret, enrolling a test user with it, its codes.

The suite runs with the second factor required (as an installation does); tests that are not about it
get past it explicitly: the `login` fixture marks its session as verified, and the browser's `page.log_in`
enrols the user with TEST_TOTP_SECRET and types the current code.
"""

from django.utils import timezone

from onecard.org import totp
from onecard.org.models import SecondFactor
from onecard.org.second_factor import mark_verified

TEST_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def enrol(staff, secret=TEST_TOTP_SECRET, *, when=None):
    """Give `staff` a confirmed authenticator with `secret` (no recovery codes, no audit: a test's given)."""
    factor, _created = SecondFactor.objects.update_or_create(
        staff=staff,
        defaults={
            "secret_sealed": totp.seal(secret),
            "confirmed_at": when or timezone.now(),
            "last_used_step": 0,
        },
    )
    return factor


def next_code(staff, secret=TEST_TOTP_SECRET, *, when=None):
    """A code the server accepts now for `staff`: of the current step, or the next one if that was used."""
    when = when or timezone.now()
    factor = SecondFactor.objects.get(staff=staff)
    step = max(totp.step_of(when), factor.last_used_step + 1)
    return totp.code_at(secret, step)


def verify_session(client, staff):
    """Mark the Django test client's session as past the second step (what the second step itself does)."""
    session = client.session
    mark_verified(session, staff)
    session.save()
    return client
