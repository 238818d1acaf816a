"""`onecard reset-second-factor USERNAME`: the way back in when the last administrator lost their phone."""

from django.core.management.base import BaseCommand, CommandError

from onecard.org import second_factor
from onecard.org.models import Staff


class Command(BaseCommand):
    help = (
        "Reset a staff member's two-step verification (authenticator and recovery codes); their sessions and "
        "API token end, and they enrol again at the next log-in. Audited as done by 'system'."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        try:
            staff = second_factor.reset_by_username(username)
        except Staff.DoesNotExist:
            raise CommandError(f"No staff member is called {username!r}.") from None
        self.stdout.write(
            f"Two-step verification of {staff.username} was reset; they enrol at the next log-in."
        )
