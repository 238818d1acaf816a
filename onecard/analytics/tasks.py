"""Background work of the analytics app, named here so that Celery's autodiscovery of `<app>.tasks` finds it."""

from onecard.analytics.recompute import recompute_task

__all__ = ["recompute_task"]
