"""The one permission check of the web pages: every permission, or any one of them, said at the call.

Permission codes and what the roles grant live in org/permissions.py; what a user may *see* (the data
scope) lives in core/scoping.py. This module only answers "may this user do it at all" and refuses
with a 403 (Django's PermissionDenied) naming the permission that is missing.
"""

from functools import wraps

from django.core.exceptions import PermissionDenied


def has_perms(user, perms, *, any_of=False) -> bool:
    """True when the user holds every permission in `perms` (any_of=True: at least one of them)."""
    held = (user.has_perm(perm) for perm in perms)
    return any(held) if any_of else all(held)


def require_perms(user, *perms, any_of=False):
    """403 unless the user holds every permission (any_of=True: at least one of them)."""
    if any_of:
        if not has_perms(user, perms, any_of=True):
            raise PermissionDenied(perms[0])
        return
    for perm in perms:
        if not user.has_perm(perm):
            raise PermissionDenied(perm)


def permission_required(*, all_of=(), any_of=()):
    """A view decorator: 403 unless the user holds all of `all_of` and at least one of `any_of`."""
    if not all_of and not any_of:
        raise ValueError("permission_required needs all_of or any_of")

    def decorator(view):
        @wraps(view)
        def checked(request, *args, **kwargs):
            if all_of:
                require_perms(request.user, *all_of)
            if any_of:
                require_perms(request.user, *any_of, any_of=True)
            return view(request, *args, **kwargs)

        return checked

    return decorator
