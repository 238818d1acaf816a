"""Background work of the analytics app, named here so that Celery's autodiscovery of `<app>.tasks` finds it."""

from onecard.analytics.rescoring import rescore_task

__all__ = ["rescore_task"]
