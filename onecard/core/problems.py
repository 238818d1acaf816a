"""RFC 9457 problem+json for every API error, with a stable `code` and a `detail` in the request's language.

Every problem has the same members of the same types: type, title, status, code, detail, instance (the
request path), errors ({field: [messages]}) and extra (the refusal's facts, by code); the last two are
{} when they have nothing to say (docs/api.md, Errors).
"""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import IntegrityError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from .errors import BusinessError, NotFound, PermissionDenied, ValidationFailed

PROBLEM_CONTENT_TYPE = "application/problem+json"
API_PREFIX = "/api/"

_DRF_CODES = {
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
    exceptions.ParseError: "malformed_request",
    exceptions.ValidationError: "validation_error",
}


def problem_body(status_code, code, detail, *, title=None, errors=None, extra=None, instance=None):
    """One problem object: always the same members, `errors` and `extra` {} when there is nothing to say."""
    return {
        "type": f"https://onecard.example/problems/{code}",
        "title": title or code.replace("_", " ").capitalize(),
        "status": status_code,
        "code": code,
        "detail": str(detail),
        "instance": instance or "",
        "errors": {str(field): [str(m) for m in messages] for field, messages in (errors or {}).items()},
        "extra": dict(extra or {}),
    }


def problem_response(status_code, code, detail, *, title=None, errors=None, extra=None, instance=None):
    """A Response whose body is one problem object."""
    body = problem_body(status_code, code, detail, title=title, errors=errors, extra=extra, instance=instance)
    response = Response(body, status=status_code)
    response.content_type = PROBLEM_CONTENT_TYPE
    return response


def _messages(value):
    return [str(m) for m in (value if isinstance(value, (list, tuple)) else [value])]


def _flatten(detail, prefix=""):
    """DRF's nested error detail as {field: [messages]}, nested fields dotted (`member_prices.0.tier`)."""
    if isinstance(detail, dict):
        flat = {}
        for key, value in detail.items():
            for field, messages in _flatten(value, f"{prefix}.{key}" if prefix else str(key)).items():
                flat.setdefault(field, []).extend(messages)
        return flat
    if isinstance(detail, list) and any(isinstance(item, (dict, list)) for item in detail):
        flat = {}
        for index, item in enumerate(detail):
            for field, messages in _flatten(item, f"{prefix}.{index}" if prefix else str(index)).items():
                flat.setdefault(field, []).extend(messages)
        return flat
    return {prefix or "non_field_errors": _messages(detail)} if detail not in ([], "") else {}


def problem_exception_handler(exc, context):
    """DRF exception handler that answers every error as problem+json."""
    request = context.get("request")
    instance = request.path if request is not None else None
    if isinstance(exc, ValidationFailed):
        errors = {field: _messages(messages) for field, messages in exc.errors.items()}
        return problem_response(exc.status, exc.code, exc.message, errors=errors, instance=instance)
    if isinstance(exc, BusinessError):
        return problem_response(exc.status, exc.code, exc.message, extra=exc.extra, instance=instance)
    if isinstance(exc, IntegrityError):
        # A unique rule that a service's own check missed (two requests racing): the caller may retry.
        return problem_response(
            status.HTTP_409_CONFLICT,
            "conflict",
            _("The request conflicts with existing data."),
            instance=instance,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None
    code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), "error")
    if isinstance(exc, exceptions.ValidationError):
        return problem_response(
            status.HTTP_400_BAD_REQUEST,
            code,
            _("Some fields are not valid."),
            errors=_flatten(exc.detail),
            instance=instance,
        )
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    problem = problem_response(response.status_code, code, detail, instance=instance)
    for header in ("WWW-Authenticate", "Retry-After", "Allow"):
        if header in response:
            problem[header] = response[header]
    return problem


# What Django itself answers under /api/ (no such route, a crash outside a view's own handling).
_STATUS_PROBLEMS = {
    400: ("bad_request", BusinessError.default_message),
    403: ("permission_denied", PermissionDenied.default_message),
    404: ("not_found", NotFound.default_message),
    405: ("method_not_allowed", BusinessError.default_message),
    500: ("server_error", _lazy("The server could not answer this request; the error was logged.")),
}


def status_problem(status_code, instance):
    """A problem+json HttpResponse for a bare HTTP status (used where no view of the API answered)."""
    code, detail = _STATUS_PROBLEMS.get(status_code, ("error", BusinessError.default_message))
    return JsonResponse(
        problem_body(status_code, code, detail, instance=instance),
        status=status_code,
        content_type=PROBLEM_CONTENT_TYPE,
        json_dumps_params={"ensure_ascii": False},
    )
