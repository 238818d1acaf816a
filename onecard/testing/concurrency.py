"""Helpers for tests that need several database clients at once (PostgreSQL concurrency tests)."""

import threading

from django.db import connection


def run_clients(count, target):
    """Run target(n) for n in range(count) in threads, each closing its own connection; re-raise the first error."""
    errors = []

    def wrapper(n):
        try:
            target(n)
        except Exception as error:  # noqa: BLE001 - re-raised in the test's thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=wrapper, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
