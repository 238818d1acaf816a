"""`onecard jobs run [--only NAME ...] [--list]` and `onecard jobs loop --every 60`: the scheduled jobs by hand.

`run` runs the jobs now and prints a table (job, changed, seconds); exit status 1 when any failed.
`loop` is the scheduler of a one-machine shop without Celery: it runs every job once, then each
on its settings.CELERY_BEAT_SCHEDULE schedule, in this process, until Ctrl-C.
"""

from django.core.management.base import BaseCommand, CommandError

from onecard import jobs


class Command(BaseCommand):
    help = "Scheduled jobs: `run` runs them now (exit 1 if one fails), `loop` runs them on their schedule."
    requires_system_checks = []

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        run = actions.add_parser("run", help="run the jobs now and print what each changed")
        run.add_argument("--only", nargs="+", metavar="NAME", help="run only these jobs (see --list)")
        run.add_argument("--list", action="store_true", help="list the jobs and their schedules, run nothing")
        loop = actions.add_parser(
            "loop", help="run the jobs on their schedule in this process (Ctrl-C stops)"
        )
        loop.add_argument("--every", type=int, default=60, help="seconds between checks (default 60)")

    def handle(self, *args, action, **options):
        if action == "run":
            if options["list"]:
                self.list_jobs()
                return
            self.run_now(options["only"])
        else:
            self.loop(options["every"])

    def list_jobs(self):
        table = jobs.schedule()
        for name, job in jobs.JOBS.items():
            cron = table.get(name)
            when = _crontab_text(cron) if cron is not None else "not scheduled"
            doc = (job.__doc__ or "").strip().splitlines()[0] if job.__doc__ else ""
            self.stdout.write(f"{name:<26} {when:<22} {doc}")

    def run_now(self, only):
        try:
            results = jobs.run_jobs(only=only)
        except jobs.UnknownJob as error:
            raise CommandError(f"unknown job: {error} (known: {', '.join(jobs.JOBS)})") from None
        self.print_results(results)
        failed = [r.name for r in results if not r.ok]
        if failed:
            raise CommandError(f"{len(failed)} job(s) failed: {', '.join(failed)}", returncode=1)

    def print_results(self, results):
        self.stdout.write(f"{'job':<20} {'changed':>8} {'seconds':>8}  detail")
        for r in results:
            line = f"{r.name:<26} {r.changed:>8,} {r.seconds:>8.2f}  {r.detail}"
            if r.ok:
                self.stdout.write(line)
            else:
                self.stdout.write(
                    self.style.ERROR(f"{r.name:<26} {'FAILED':>8} {r.seconds:>8.2f}  {r.error}")
                )
        self.stdout.flush()

    def loop(self, every):
        if every < 1:
            raise CommandError("--every must be 1 second or more")
        self.stdout.write(f"running the jobs on their schedule, checking every {every} s (Ctrl-C stops)")
        try:
            jobs.run_loop(every, report=self.print_results)
        except KeyboardInterrupt:
            self.stdout.write("stopped")


def _crontab_text(cron) -> str:
    """'03:10 daily', 'hourly at :05', 'every minute', or the crontab's own text."""
    minutes, hours = sorted(cron.minute), sorted(cron.hour)
    if len(minutes) == 60 and len(hours) == 24:
        return "every minute"
    if len(minutes) == 1 and len(hours) == 24:
        return f"hourly at :{minutes[0]:02d}"
    days = sorted(cron.day_of_month)
    if len(minutes) == 1 and len(hours) == 1 and len(days) == 1:
        return f"monthly on day {days[0]} at {hours[0]:02d}:{minutes[0]:02d}"
    weekdays = sorted(cron.day_of_week)  # crontab counts Sunday as 0
    if len(minutes) == 1 and len(hours) == 1 and len(weekdays) == 1:
        name = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")[weekdays[0]]
        return f"weekly on {name} at {hours[0]:02d}:{minutes[0]:02d}"
    if len(minutes) == 1 and len(hours) == 1:
        return f"daily at {hours[0]:02d}:{minutes[0]:02d}"
    return str(cron)
