"""RFC 9457 problem+json for every API error, with a stable `code` and a `detail` in the request's language."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import IntegrityError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from .errors import BusinessError, ValidationFailed

PROBLEM_CONTENT_TYPE = "application/problem+json"

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


def problem_response(status_code, code, detail, *, title=None, errors=None, extra=None, instance=None):
    """A Response whose body is one problem object."""
    body = {
        "type": f"https://onecard.example/problems/{code}",
        "title": title or code.replace("_", " ").capitalize(),
        "status": status_code,
        "code": code,
        "detail": str(detail),
    }
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    if extra:
        # A caller's extra never replaces the problem's own members (type, status, code, ...).
        body.update({key: value for key, value in extra.items() if key not in body})
    response = Response(body, status=status_code)
    response.content_type = PROBLEM_CONTENT_TYPE
    return response


def _flatten(detail):
    """DRF's nested error detail as {field: [messages]}."""
    if isinstance(detail, dict):
        return {k: [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in detail.items()}
    if isinstance(detail, list):
        return {"non_field_errors": [str(m) for m in detail]}
    return {"non_field_errors": [str(detail)]}


def problem_exception_handler(exc, context):
    """DRF exception handler that answers every error as problem+json."""
    request = context.get("request")
    instance = request.path if request is not None else None
    if isinstance(exc, ValidationFailed):
        errors = {k: [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in exc.errors.items()}
        return problem_response(exc.status, exc.code, exc.message, errors=errors, instance=instance)
    if isinstance(exc, BusinessError):
        return problem_response(exc.status, exc.code, exc.message, extra=exc.extra or None, instance=instance)
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
