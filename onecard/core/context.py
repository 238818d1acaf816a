"""The request that is being served, for audit rows written deep inside services."""

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    """Who is acting and from where; the audit log records both."""

    ip: str | None = None
    user_agent: str = ""


_NO_REQUEST = RequestContext()
_current: ContextVar[RequestContext | None] = ContextVar("onecard_request_context", default=None)


def current_context() -> RequestContext:
    return _current.get() or _NO_REQUEST


def set_context(ctx: RequestContext):
    return _current.set(ctx)


def reset_context(token):
    _current.reset(token)
