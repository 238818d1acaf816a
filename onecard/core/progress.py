"""Where a long job started by hand is, for its progress bar (imports, a scoring of every member).

Progress goes to the cache, not the database: on SQLite the job's transaction holds the write lock, and the
job's own row only changes at the end, inside that transaction. A per-process cache (LocMemCache, the default
without Redis) is not seen by the other gunicorn workers that answer the polls, so then the state is also
written to a small file under VAR_DIR. Once the job ends, what it wrote is what counts.
"""

import json
import logging
import os
import re
from pathlib import Path

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.locmem import LocMemCache

logger = logging.getLogger(__name__)

PROGRESS_TTL = 6 * 3600


def _key(name) -> str:
    return f"onecard:progress:{name}"


def progress_file(name):
    """Where the state is also kept when the cache is private to one process; None with a shared cache."""
    if not isinstance(caches["default"], LocMemCache):
        return None
    return Path(settings.VAR_DIR) / "progress" / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}.json"


def publish(name, state: dict) -> None:
    """Publish the state (a JSON-able dict) of the job called `name`."""
    cache.set(_key(name), state, PROGRESS_TTL)
    path = progress_file(name)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_text(json.dumps(state))
            os.replace(temporary, path)  # atomic: a reader sees the old or the new state, never half
        except OSError:
            logger.warning("Cannot write progress to %s", path, exc_info=True)


def read(name):
    """The last state published for `name`, or None."""
    state = cache.get(_key(name))
    path = progress_file(name)
    if state is None and path is not None:
        try:
            state = json.loads(path.read_text())
        except (OSError, ValueError):
            state = None
    return state


def clear(name) -> None:
    """Forget the state of `name` (the job has ended and recorded its outcome)."""
    cache.delete(_key(name))
    path = progress_file(name)
    if path is not None:
        path.unlink(missing_ok=True)
