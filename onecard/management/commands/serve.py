"""`onecard serve`: migrate, load demo data the first time, collect static files, print logins, serve."""

import os
import shutil
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from onecard.demo import print_demo_logins
from onecard.org.models import Merchant


class Command(BaseCommand):
    help = "Prepare the database and serve OneCard (gunicorn) on 127.0.0.1:PORT."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)))
        parser.add_argument("--bind", default=os.environ.get("ONECARD_BIND", "127.0.0.1"))
        parser.add_argument("--workers", type=int, default=int(os.environ.get("ONECARD_WORKERS", 2)))
        parser.add_argument(
            "--no-demo", action="store_true", help="do not load demo data into an empty database"
        )

    def handle(self, *args, port, bind, workers, no_demo, **options):
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("database migrated")
        if not no_demo and not Merchant.objects.exists():
            self.stdout.write("first start: loading the demo chain (onecard seed-demo)...")
            call_command("seed_demo")
        call_command("collectstatic", interactive=False, verbosity=0)
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"OneCard is at http://{bind}:{port}/"))
        print_demo_logins(self.stdout)  # only on a demo install: never next to real merchants
        self.stdout.write(f"API docs: http://{bind}:{port}/api/v1/docs/")
        sys.stdout.flush()
        gunicorn = shutil.which("gunicorn", path=os.path.dirname(sys.executable)) or shutil.which("gunicorn")
        argv = [
            gunicorn,
            "onecard.wsgi",
            "--bind",
            f"{bind}:{port}",
            "--workers",
            str(workers),
            "--threads",
            "4",
            "--access-logfile",
            "-",
            "--timeout",
            "120",
        ]
        if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
            argv += ["--workers", "1", "--threads", "8"]  # one process keeps SQLite's writer simple
        os.execv(gunicorn, argv)  # noqa: S606 - replaces this process with gunicorn from our venv, fixed arguments
