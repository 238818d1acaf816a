"""Background work of the sales app: the historical sales import's task (importing/background.py), named
here so that Celery's autodiscovery of `<app>.tasks` registers it."""

from .importing.background import dispatch_import, run_import_task

__all__ = ["dispatch_import", "run_import_task"]
