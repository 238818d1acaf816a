"""Celery application; with no broker configured tasks run in-process (eager)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onecard.settings")

app = Celery("onecard")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
