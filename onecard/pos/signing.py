"""Request signatures of terminals (docs/pos-api.md).

    canonical = METHOD + "\\n" + path_with_query + "\\n" + timestamp + "\\n" + nonce + "\\n" + sha256_hex(body)
    signature = hex(HMAC-SHA256(key=secret as UTF-8, message=canonical as UTF-8))

The path is the request target as sent (percent-encoded path, then "?" and the raw query string when
there is one). The server rebuilds it from the request; the client signs what it puts on the wire.
"""

import hashlib
import hmac
import secrets
import time

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


def canonical_string(method: str, path: str, timestamp: str | int, nonce: str, body) -> str:
    """The five lines that are signed, joined by "\\n" (no trailing newline)."""
    return "\n".join([method.upper(), path, str(timestamp), nonce, body_hash(body)])


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

    `path` is the path with its query string exactly as it will be sent, e.g.
    "/api/v1/pos/members/lookup?q=1380013". `body` is the exact bytes that will be sent.
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
