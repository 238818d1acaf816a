"""Tamper evidence for records that are written once: a canonical form of their fields, digests, chain links.

The ledger's postings (loyalty.ledger) and the audit log (core.audit_chain) build on it. A record's
fields are serialised in a fixed order with typed, length-prefixed values, so no two different
records give the same text: None is not "", 1 is not "1", a memo cannot contain the next field.
`digest` covers every field and goes into a hash chain; `field_hashes` keeps four hex digits per
field beside the record, so a check can say WHICH field changed, not only that something did.
The rules here are frozen: a stored hash is recomputed with them years later. A new rule is a new
function (and a new hash version on the record), never an edit of these.
"""

import datetime
import hashlib
import ipaddress
import json
from collections.abc import Sequence
from dataclasses import dataclass

GENESIS_HASH = "0" * 64
FIELD_HASH_LENGTH = 4  # hex digits per field: enough to name the field, the digest does the protecting


def encode(value) -> str:
    """The canonical text of one value: a type letter, then the value (strings and JSON length-prefixed)."""
    if value is None:
        return "~"
    if isinstance(value, bool):  # before int: True is an int too
        return "b1" if value else "b0"
    if isinstance(value, int):
        return f"i{value}"
    if isinstance(value, str):
        return f"s{len(value)}:{value}"
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            raise ValueError("a hashed time carries its time zone")
        return "t" + value.astimezone(datetime.UTC).isoformat(timespec="microseconds")
    if isinstance(value, (dict, list)):
        text = json.dumps(_plain_json(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return f"j{len(text)}:{text}"
    raise TypeError(f"no canonical form for {type(value).__name__}")


def _plain_json(value):
    """JSON as the database gives it back: whole floats as ints (PostgreSQL's jsonb writes 1e20 as an integer)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_plain_json(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain_json(item) for key, item in value.items()}
    return value


def ip_value(value):
    """An IP address as the same text whichever way the database spells it (inet vs. text, IPv6 forms)."""
    if value in (None, ""):
        return None
    try:
        return "ip:" + ipaddress.ip_address(str(value)).packed.hex()
    except ValueError:  # not an address: hash the text as stored
        return str(value)


def canonical(fields: Sequence[tuple[str, object]]) -> str:
    """The record as one text: `name=value` per field in the given order (the order is part of the rule)."""
    return "\x1e".join(f"{name}={encode(value)}" for name, value in fields)


def digest(fields: Sequence[tuple[str, object]]) -> str:
    """sha256 (hex) of the canonical text of every field."""
    return hashlib.sha256(canonical(fields).encode()).hexdigest()


def field_hashes(fields: Sequence[tuple[str, object]]) -> str:
    """FIELD_HASH_LENGTH hex digits of sha256(name=value) per field, concatenated in order."""
    return "".join(
        hashlib.sha256(f"{name}={encode(value)}".encode()).hexdigest()[:FIELD_HASH_LENGTH]
        for name, value in fields
    )


def changed_fields(fields: Sequence[tuple[str, object]], stored: str) -> list[str]:
    """The names of the fields whose value no longer matches `stored` field_hashes (all, if it is malformed)."""
    now = field_hashes(fields)
    if len(stored) != len(now):
        return [name for name, _value in fields]
    width = FIELD_HASH_LENGTH
    return [
        name
        for i, (name, _value) in enumerate(fields)
        if now[i * width : (i + 1) * width] != stored[i * width : (i + 1) * width]
    ]


def link(*parts) -> str:
    """One link of a hash chain: sha256 over the canonical text of `parts` (previous hash, ids, digests...)."""
    return hashlib.sha256("|".join(encode(part) for part in parts).encode()).hexdigest()


@dataclass(frozen=True)
class Problem:
    """One difference a verify found: what is wrong (`check`), where (`subject`), and the details."""

    check: str
    subject: str
    detail: str

    def __str__(self):
        return f"{self.subject}: {self.check}: {self.detail}"
