"""Writing the audit trail. Services call `record` inside their own transaction."""

import datetime
import decimal
import json
import uuid
from operator import attrgetter

from django.db import models
from django.utils import timezone

from . import hashchain
from .audit_chain import record_fields, seal_after_commit
from .context import current_context
from .models import AuditAction, AuditEntry


def _plain(value):
    """A JSON-safe form of one field value."""
    if isinstance(value, (datetime.date, datetime.datetime, datetime.time, decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def snapshot(instance, fields=None, *, exclude=("password",)):
    """The audited fields of a model instance as a dict (foreign keys as ids)."""
    data = {}
    for field in instance._meta.concrete_fields:
        if field.name in exclude or (fields is not None and field.name not in fields):
            continue
        data[field.name] = _plain(getattr(instance, field.attname))
    return data


def diff(before, after):
    """Only the keys whose values changed, as (before, after) dicts."""
    keys = sorted(set(before) | set(after))
    changed = [k for k in keys if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in changed}, {k: after.get(k) for k in changed}


def record(
    actor,
    action,
    subject=None,
    *,
    subject_type=None,
    subject_id="",
    subject_repr="",
    before=None,
    after=None,
    note="",
    node=None,
    merchant=None,
):
    """Append one audit row for `actor` doing `action` to `subject`."""
    if subject is not None:
        subject_type = subject_type or subject._meta.label_lower
        subject_id = subject_id or str(subject.pk)
        subject_repr = subject_repr or str(subject)[:200]
        node = node if node is not None else _node_of(subject)
        merchant = merchant if merchant is not None else _merchant_of(subject, node)
    ctx = current_context()
    acting = actor is not None and actor.pk
    # The values exactly as the database will return them, so the hashes computed here verify later.
    values = {
        "at": timezone.now(),
        "actor_id": actor.pk if acting else None,
        "actor_name": (actor.get_username() if acting else "system")[:150],
        "action": AuditAction(action).value,
        "subject_type": subject_type or "",
        "subject_id": str(subject_id),
        "subject_repr": subject_repr[:200],
        "node_id": _pk(node),
        "merchant_id": _pk(merchant),
        "before": _stored_json(before),
        "after": _stored_json(after),
        "note": note[:300],
        "ip": ctx.ip or None,
        "user_agent": ctx.user_agent,
    }
    entry = AuditEntry.objects.create(**values, field_hashes=hashchain.field_hashes(record_fields(values)))
    seal_after_commit()
    return entry


def _pk(value):
    return value.pk if isinstance(value, models.Model) else value


def _stored_json(value):
    """A before/after value as the JSON column gives it back (tuples as lists, keys as text)."""
    return None if value is None else json.loads(json.dumps(_plain(value)))


def _node_of(subject):
    # A model names the path to its node where it is not its `home_store` or `node`:
    # `audit_node_path = "store"`, `"member.home_store"`.
    for path in (getattr(subject, "audit_node_path", None), "home_store", "node"):
        node = _follow(subject, path) if path else None
        if node is not None and not callable(node):
            return node
    if subject._meta.label_lower == "org.orgnode":
        return subject
    return None


def _follow(subject, path):
    """The object at the end of a dotted attribute path, or None where a link on the way is empty."""
    try:
        return attrgetter(path)(subject)
    except AttributeError:
        return None


def _merchant_of(subject, node):
    merchant = getattr(subject, "merchant", None)
    if merchant is not None:
        return merchant
    if node is not None:
        return node.merchant
    return None
