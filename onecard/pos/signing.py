"""Request signatures of terminals (docs/pos-api.md).

    canonical = METHOD + "\\n" + path_with_query + "\\n" + timestamp + "\\n" + nonce + "\\n" + sha256_hex(body)
    signature = hex(HMAC-SHA256(key=secret as UTF-8, message=canonical as UTF-8))

The second line is the canonical request target (`canonical_target`), not the bytes on the wire:
HTTP libraries and servers rewrite percent-escapes (`%7E` becomes `~`, `:` is sent as `:` or `%3A`,
hex is upper- or lower-case), and the server only ever sees the decoded path. Both sides therefore
decode the path and the query and encode them again one way:

- path: percent-decoded to bytes, then every byte other than `A-Z a-z 0-9 - _ . ~ /` written as `%XX`
  with upper-case hex (so `:` is `%3A`, a space `%20`, `张` `%E5%BC%A0`);
- query (when not empty): split on `&`, empty parts dropped; each part split at its first `=` into
  name and value (`a` alone is `a=`); `+` read as a space and escapes decoded, as forms do; name and
  value encoded like the path but with `/` escaped too; joined as `name=value` with `&` in the order
  sent; then `?` + that after the path.

A target that is already canonical (the usual ASCII ids, digits and upper-case escapes) signs as it
is sent.
"""

import hashlib
import hmac
import secrets
import time
from urllib.parse import quote_from_bytes, unquote_to_bytes

HEADER_TERMINAL = "X-Terminal-Id"
HEADER_TIMESTAMP = "X-Timestamp"
HEADER_NONCE = "X-Nonce"
HEADER_SIGNATURE = "X-Signature"

MAX_SKEW_SECONDS = 300
# A nonce is remembered at least this long: twice the skew window (see models.UsedNonce).
NONCE_MEMORY_SECONDS = 2 * MAX_SKEW_SECONDS
NONCE_PURGE_AFTER_SECONDS = 15 * 60
NONCE_MIN_LENGTH = 8
NONCE_MAX_LENGTH = 64
_NONCE_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")


def body_hash(body: bytes | str | None) -> str:
    """Hex SHA-256 of the raw body (the empty body included: e3b0c442...)."""
    if body is None:
        body = b""
    if isinstance(body, str):
        body = body.encode()
    return hashlib.sha256(body).hexdigest()


def _encode(raw: bytes, safe: str) -> str:
    # quote_from_bytes keeps A-Z a-z 0-9 _ . - ~ and `safe`, and writes upper-case hex.
    return quote_from_bytes(raw, safe=safe)


def canonical_path(path: str) -> str:
    """The path decoded and encoded again: only A-Z a-z 0-9 - _ . ~ / stay as they are."""
    return _encode(unquote_to_bytes(path), "/")


def canonical_query(query: str) -> str:
    """`name=value` pairs in the order sent, `+` read as a space, each side encoded like the path but `/`."""
    pairs = []
    for part in query.split("&"):
        if not part:
            continue
        name, _sep, value = part.partition("=")
        name, value = (unquote_to_bytes(x.replace("+", " ")) for x in (name, value))
        pairs.append(f"{_encode(name, '')}={_encode(value, '')}")
    return "&".join(pairs)


def _join(path: str, query: str) -> str:
    return f"{path}?{query}" if query else path


def canonical_target(target: str) -> str:
    """The request target as signed: canonical path, then "?" and the canonical query if it has one.

    `target` is the path with its query string as the client sends it (escaped or not).
    """
    path, _sep, query = target.partition("?")
    return _join(canonical_path(path), canonical_query(query))


def received_target(decoded_path: str, raw_query: str) -> str:
    """The canonical target of a received request: the path as the server decoded it, the query raw.

    The decoded path is encoded without decoding it again: a `%` in it came from `%25` on the wire.
    """
    return _join(_encode(decoded_path.encode(), "/"), canonical_query(raw_query))


def canonical_string(method: str, path: str, timestamp: str | int, nonce: str, body) -> str:
    """The five lines that are signed, joined by "\\n" (no trailing newline); `path` is made canonical."""
    return "\n".join([method.upper(), canonical_target(path), str(timestamp), nonce, body_hash(body)])


def compute_signature(secret: str, canonical: str) -> str:
    """Hex (lower-case) HMAC-SHA256 of the canonical string with the terminal's secret."""
    return hmac.new(secret.encode(), canonical.encode(), hashlib.sha256).hexdigest()


def signatures_match(expected: str, given: str) -> bool:
    """Constant-time comparison; hex is compared case-insensitively."""
    return hmac.compare_digest(expected.encode(), (given or "").strip().lower().encode())


def new_nonce() -> str:
    return secrets.token_hex(16)


def is_valid_nonce(nonce: str) -> bool:
    return NONCE_MIN_LENGTH <= len(nonce) <= NONCE_MAX_LENGTH and set(nonce) <= _NONCE_ALPHABET


def sign_request(
    secret: str,
    method: str,
    path: str,
    body: bytes | str | None = b"",
    timestamp: int | None = None,
    nonce: str | None = None,
    *,
    terminal_id: str | None = None,
) -> dict:
    """The signature headers of one request: {"X-Timestamp", "X-Nonce", "X-Signature"} (+ X-Terminal-Id).

    `path` is the path with its query string as it will be sent, e.g. "/api/v1/pos/members/lookup?q=1380013"
    (it is made canonical here). `body` is the exact bytes that will be sent.
    """
    timestamp = int(time.time()) if timestamp is None else int(timestamp)
    nonce = new_nonce() if nonce is None else nonce
    canonical = canonical_string(method, path, timestamp, nonce, body)
    headers = {
        HEADER_TIMESTAMP: str(timestamp),
        HEADER_NONCE: nonce,
        HEADER_SIGNATURE: compute_signature(secret, canonical),
    }
    if terminal_id is not None:
        headers = {HEADER_TERMINAL: terminal_id, **headers}
    return headers


def as_wsgi_headers(headers: dict) -> dict:
    """{"X-Nonce": v} → {"HTTP_X_NONCE": v}, for Django's test client."""
    return {"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()}
