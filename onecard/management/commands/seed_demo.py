"""`onecard seed-demo`: the demo chain with staff in every role and believable members (onecard/demo.py).

Only on a database without real merchants (a demo install), unless told --force-next-to-real-data.
"""

from django.core.management.base import BaseCommand, CommandError

from onecard import demo

# How much demo to build: (option, default, help).
COUNT_OPTIONS = (
    ("--members", 5000, "how many members (default 5,000)"),
    ("--batch", 10_000, "members per transaction (default 10,000)"),
    (
        "--cards",
        1500,
        "members given a card with a year of ledger history, on the first run (default 1,500; 0: none)",
    ),
    ("--history-days", 365, "days of ledger history (default 365)"),
    (
        "--sales",
        300,
        "checkouts with promotions and coupons over the last 60 days, with the demo catalogue, "
        "on the first run (default 300)",
    ),
    (
        "--history-lines",
        0,
        "demo purchase history: made-up sale lines over the last two years, written in bulk (not through "
        "the till: no ledger movement), topped up to this many, then the member facts rebuilt (default 0)",
    ),
)


class Command(BaseCommand):
    help = "Build the demo chain (1 HQ, 3 regions, 12 stores, staff in every role) and its members."
    # Runs before the web pages exist (and on servers without them): no URL checks needed.
    requires_system_checks = []

    def add_arguments(self, parser):
        for option, default, help_text in COUNT_OPTIONS:
            parser.add_argument(option, type=int, default=default, help=help_text)
        parser.add_argument(
            "--force-next-to-real-data",
            action="store_true",
            help="add the demo even though the database holds real merchants (refused without it): no "
            "superuser, and the demo logins get random passwords, printed once",
        )

    def handle(
        self,
        *args,
        members,
        batch,
        cards,
        history_days,
        sales,
        history_lines,
        force_next_to_real_data,
        **options,
    ):
        if members < 0:
            raise CommandError("--members must be 0 or more")
        if batch < 1:
            raise CommandError("--batch must be 1 or more")
        if cards < 0 or history_days < 1 or sales < 0 or history_lines < 0:
            raise CommandError(
                "--cards, --sales and --history-lines must be 0 or more and --history-days 1 or more"
            )
        try:
            demo.seed_demo(
                self.stdout,
                self.style,
                members=members,
                batch=batch,
                cards=cards,
                history_days=history_days,
                sales=sales,
                history_lines=history_lines,
                next_to_real_data=force_next_to_real_data,
            )
        except demo.RealMerchantsPresent as refusal:
            raise CommandError(str(refusal)) from None
