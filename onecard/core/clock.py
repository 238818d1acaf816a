"""A movable "now" for building history: `onecard seed-demo` posts a year of ledger entries at past times.

Why move the clock instead of editing rows afterwards: the demo history goes through the SAME
services as the till (top-up, charge, refund, holds, points), and those services take the time from
`django.utils.timezone.now()`. That time is part of the ledger itself: a journal entry's
`created_at` enters every posting's hash (ledger.posting_hash), so rewriting it later would break
the chain that `onecard ledger verify` checks; and the same time decides a hold's expiry, a points
lot's `earned_at` and `expires_at`, which bonus rule and earn rule apply, and the audit rows. So
for the duration of the seed, "now" itself is the past.

How: the obvious patch, replacing `django.utils.timezone.now`, misses the model fields declared
with `default=timezone.now` (they hold the original function, bound at import). Both that function
and `auto_now` fields call `datetime.now()` looked up in django.utils.timezone's module globals, so
`moved_now` replaces that one name with a datetime subclass whose `now()` answers the moved time;
`timezone.now`, `timezone.localdate`, field defaults and `auto_now` all follow. `isinstance` checks
against the subclass still accept ordinary datetimes (the metaclass below).

Process-wide and not thread-safe: for a management command or a test, never inside a web server.
"""

import contextlib
import datetime

from django.utils import timezone as django_timezone

_REAL_DATETIME = datetime.datetime


class _AnyDatetime(type):
    """Metaclass: `isinstance(x, MovedDatetime)` is true for every real datetime, as for the class it replaces."""

    def __instancecheck__(cls, obj):
        return isinstance(obj, _REAL_DATETIME)

    def __subclasscheck__(cls, sub):
        return issubclass(sub, _REAL_DATETIME)


class MovedClock:
    """The moved time; `set` or `advance` it while `moved_now` is active. Always an aware datetime."""

    def __init__(self, at):
        self.at = _aware(at)

    def set(self, at):
        self.at = _aware(at)

    def advance(self, delta: datetime.timedelta):
        self.at = self.at + delta

    def now(self) -> datetime.datetime:
        return self.at


def _aware(at):
    if at is None or at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("the moved clock needs an aware datetime")
    return at


@contextlib.contextmanager
def moved_now(at):
    """Inside the block `timezone.now()` (and every field default or auto_now) answers the clock's time.

    Yields the MovedClock; `clock.set(t)` moves it on. Nesting restores the outer clock on exit.
    """
    clock = MovedClock(at)

    class MovedDatetime(_REAL_DATETIME, metaclass=_AnyDatetime):
        @classmethod
        def now(cls, tz=None):
            if tz is None:  # naive local time, as datetime.now() gives (only with USE_TZ=False)
                return clock.at.astimezone(django_timezone.get_default_timezone()).replace(tzinfo=None)
            return clock.at.astimezone(tz)

    saved = django_timezone.datetime
    django_timezone.datetime = MovedDatetime
    try:
        yield clock
    finally:
        django_timezone.datetime = saved
