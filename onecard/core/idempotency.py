"""Idempotency keys: a request that moves money takes effect once; its first result is replayed.

    result = run_idempotent(key, {"method": "POST", "path": path, "body": data}, do_charge, scope=terminal)

`do_charge()` returns `(status, body)`. In one transaction the key is claimed, the effect runs
and the result is stored, so a key is either absent or holds exactly one result:

- a retry with the same request gets the stored result back unchanged (`replayed=True`);
- the same key with a different request is refused: IdempotencyConflict, 409 `idempotency_conflict`;
- a BusinessError raised by `fn` (e.g. insufficient_balance) rolls back whatever `fn` wrote and is
  stored as the result (its problem+json body): the key stays refused even after a top-up;
- any other exception stores nothing, so the client may retry the key;
- concurrent duplicates: the claim is `INSERT ... ON CONFLICT DO NOTHING` on the unique
  (scope, key) index, so the losers wait until the first commits, then read its result.

Keys are kept at least 7 days (`purge_idempotency_keys`). While `fn` runs, `current_idempotency_key()`
names the key, and the ledger writes it on every journal entry it posts.
"""

import contextvars
import datetime
import hashlib
import json
from dataclasses import dataclass

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .errors import BusinessError, Conflict, ValidationFailed
from .models import IdempotencyKey
from .problems import problem_response

KEEP_AT_LEAST = datetime.timedelta(days=7)
MAX_KEY_LENGTH = 255
MAX_SCOPE_LENGTH = 100

_current_key = contextvars.ContextVar("onecard_idempotency_key", default="")


class IdempotencyConflict(Conflict):
    """The key was already used for a different request."""

    code = "idempotency_conflict"
    default_message = _("This idempotency key was already used for a different request.")


class InvalidIdempotencyKey(BusinessError):
    code = "invalid_idempotency_key"
    default_message = _("The idempotency key must be 1 to 255 printable characters.")


@dataclass(frozen=True)
class IdempotentResult:
    """What to answer: the stored status and JSON body; `replayed` is True for every answer after the first."""

    status: int
    body: object
    replayed: bool


def current_idempotency_key() -> str:
    """The key of the run_idempotent() call in progress ("scope:key"), or "" outside one."""
    return _current_key.get()


def request_fingerprint(request) -> str:
    """sha256 of the canonical JSON of whatever describes the request (method, path, body...)."""
    canonical = json.dumps(request, cls=DjangoJSONEncoder, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def problem_body(error: BusinessError) -> dict:
    """The problem+json body of a refusal, as the API would answer it."""
    errors = None
    if isinstance(error, ValidationFailed):
        errors = {k: [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in error.errors.items()}
    return problem_response(
        error.status, error.code, error.message, errors=errors, extra=error.extra or None
    ).data


def run_idempotent(key: str, request, fn, *, scope: str = "") -> IdempotentResult:
    """Run `fn() -> (status, body)` once per (scope, key); return the stored result on every retry.

    `request` is any JSON-serialisable description of the request (its hash is compared on
    retries). This is the transaction boundary of the request: it must not be called inside
    another `transaction.atomic()` (durable), so that the result commits with the effect.
    """
    _check_key(key, scope)
    request_hash = request_fingerprint(request)
    token = _current_key.set(f"{scope}:{key}" if scope else key)
    try:
        refusal = None
        with transaction.atomic(durable=True):
            record_id = _claim(scope, key, request_hash)
            if record_id is not None:
                try:
                    status, body = fn()
                except BusinessError as error:
                    refusal = error
                    # Undo whatever fn wrote, and our claim; the refusal is stored below, on its own.
                    transaction.set_rollback(True)
                else:
                    text = _to_json(body)
                    IdempotencyKey.objects.filter(pk=record_id).update(status=status, body=text)
                    return IdempotentResult(status, json.loads(text), replayed=False)
        if refusal is not None:
            text = _to_json(problem_body(refusal))
            with transaction.atomic(durable=True):
                record_id = _claim(scope, key, request_hash)
                if record_id is not None:
                    IdempotencyKey.objects.filter(pk=record_id).update(status=refusal.status, body=text)
                    return IdempotentResult(refusal.status, json.loads(text), replayed=False)
        # Someone else's result is stored (an earlier call, or a concurrent one that won the claim).
        return _replay(scope, key, request_hash)
    finally:
        _current_key.reset(token)


def purge_idempotency_keys(*, older_than: datetime.timedelta = KEEP_AT_LEAST, now=None) -> int:
    """Delete keys older than `older_than` (never less than 7 days); returns how many were deleted."""
    if older_than < KEEP_AT_LEAST:
        raise ValueError(f"idempotency keys are kept at least {KEEP_AT_LEAST.days} days")
    cutoff = (now or timezone.now()) - older_than
    deleted, _by_model = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def _check_key(key, scope):
    if not isinstance(key, str) or not key:
        raise InvalidIdempotencyKey(
            code="idempotency_key_required", message=_("An idempotency key is required.")
        )
    if len(key) > MAX_KEY_LENGTH or not key.isprintable() or key != key.strip():
        raise InvalidIdempotencyKey()
    if len(scope) > MAX_SCOPE_LENGTH:
        raise ValueError("idempotency scope too long")


def _to_json(body) -> str:
    return json.dumps(body, cls=DjangoJSONEncoder, ensure_ascii=False)


def _claim(scope, key, request_hash):
    """Insert the key; its id, or None when the key exists (after waiting for a concurrent claimer to finish)."""
    qn = connection.ops.quote_name
    created_at = IdempotencyKey._meta.get_field("created_at").get_db_prep_value(timezone.now(), connection)
    sql = (
        f"INSERT INTO {qn(IdempotencyKey._meta.db_table)} "  # noqa: S608 - names from the models, values bound
        f"({qn('scope')}, {qn('key')}, {qn('request_hash')}, {qn('body')}, {qn('created_at')}) "
        f"VALUES (%s, %s, %s, '', %s) ON CONFLICT ({qn('scope')}, {qn('key')}) DO NOTHING RETURNING {qn('id')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [scope, key, request_hash, created_at])
        row = cursor.fetchone()
    return row[0] if row else None


def _replay(scope, key, request_hash) -> IdempotentResult:
    stored = (
        IdempotencyKey.objects.filter(scope=scope, key=key)
        .values_list("request_hash", "status", "body")
        .first()
    )
    if stored is None:  # purged between our claim and this read: vanishingly rare; the client retries
        raise Conflict(code="idempotency_retry", message=_("Please retry the request."))
    stored_hash, status, body = stored
    if stored_hash != request_hash:
        raise IdempotencyConflict()
    return IdempotentResult(status, json.loads(body), replayed=True)
