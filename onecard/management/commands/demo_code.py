"""`onecard demo-code`: the current two-step verification code of the demo accounts' published key."""

from django.core.management.base import BaseCommand
from django.utils import timezone

from onecard.core.demo_logins import DEMO_TOTP_SECRET
from onecard.org import totp


class Command(BaseCommand):
    help = (
        "Print the current code of the demo's published authenticator key (demo install only: real accounts "
        "have keys of their own, which nothing prints)."
    )
    requires_system_checks = []

    def handle(self, *args, **options):
        now = timezone.now()
        step = totp.step_of(now)
        left = totp.STEP_SECONDS - int(now.timestamp()) % totp.STEP_SECONDS
        self.stdout.write(
            f"{totp.code_at(DEMO_TOTP_SECRET, step)}  (valid {left} s more; each code is accepted once)"
        )
        self.stdout.write(f"next: {totp.code_at(DEMO_TOTP_SECRET, step + 1)}")
