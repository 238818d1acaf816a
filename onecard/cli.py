"""The `onecard` console command: Django's manage.py with OneCard's settings preset."""

import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onecard.settings")
    from django.core.management import execute_from_command_line

    argv = list(sys.argv)
    # `onecard seed-demo` reads better than seed_demo; Django's command modules use underscores.
    if len(argv) > 1 and "-" in argv[1] and not argv[1].startswith("-"):
        argv[1] = argv[1].replace("-", "_")
    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
