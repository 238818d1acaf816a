"""Settings for the test suite: SQLite in memory, or PostgreSQL from ONECARD_TEST_DATABASE_URL."""

import os

from .settings import *  # noqa: F403
from .settings import SQLITE_OPTIONS, database_from_url

_pg = os.environ.get("ONECARD_TEST_DATABASE_URL")
if _pg:
    DATABASES = {"default": database_from_url(_pg)}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": ":memory:",
            "OPTIONS": dict(SQLITE_OPTIONS),
            "TEST": {"NAME": ":memory:"},
        }
    }

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
CELERY_TASK_ALWAYS_EAGER = True

# The older page tests ask for English pages with Accept-Language (client.get(..., HTTP_ACCEPT_LANGUAGE="en"));
# the tests of the language rule itself turn this off (onecard/core/tests/test_language.py).
ONECARD_PAGES_FOLLOW_ACCEPT_LANGUAGE = True

# Work started by hand in the background (imports, recomputations) runs in the request, so a test sees its
# outcome; the tests of the background dispatch itself turn this off.
ONECARD_RUN_INLINE = True
