"""The shape of the maintenance commands that check stored records (`onecard audit verify`, `ledger verify`)."""

from django.core.management.base import BaseCommand, CommandError


class VerifyCommand(BaseCommand):
    """A command with a `verify` action that prints at most --max-problems differences and exits 1 on any."""

    # Runs on a broken or half-deployed installation too: checking the records must not depend on URLs, admin...
    requires_system_checks = []
    verify_help = ""

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        verify = actions.add_parser("verify", help=self.verify_help)
        verify.add_argument(
            "--max-problems", type=int, default=100, help="how many differences to print (default 100)"
        )
        self.add_actions(actions)

    def add_actions(self, actions):
        """The command's actions besides verify."""

    def fail_with_problems(self, problems, max_problems, checked):
        """Print the first `max_problems` differences and exit with status 1; `checked` names what was verified."""
        for problem in problems[:max_problems]:
            self.stderr.write(str(problem))
        if len(problems) > max_problems:
            self.stderr.write(f"... and {len(problems) - max_problems} more")
        raise CommandError(f"{checked} verify found {len(problems)} difference(s)", returncode=1)
