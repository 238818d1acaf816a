"""Schemathesis hooks of `api_fuzz`: sign every /api/v1/pos/ request as the fuzz's terminal would.

Loaded by schemathesis through SCHEMATHESIS_HOOKS; the terminal's id and secret and the server's address
come from the environment `api_fuzz` sets. The request is prepared exactly as it will be sent (path,
query string and body bytes), then signed with the server's own `sign_request`, so the generated cases
reach the POS views instead of all stopping at the signature check.
"""

import os

import requests
import schemathesis

from onecard.pos.signing import sign_request

_PREPARED_FROM = ("method", "url", "params", "data", "json", "files")


@schemathesis.hook
def before_call(context, case, kwargs):
    """Add X-Terminal-Id, X-Timestamp, X-Nonce and X-Signature to a POS request."""
    if not case.operation.path.startswith("/api/v1/pos/"):
        return
    sent = case.as_transport_kwargs(base_url=os.environ["ONECARD_FUZZ_BASE_URL"])
    prepared = requests.Request(**{key: sent[key] for key in _PREPARED_FROM if key in sent}).prepare()
    body = prepared.body or b""
    headers = sign_request(
        os.environ["ONECARD_FUZZ_TERMINAL_SECRET"],
        case.method,
        prepared.path_url,
        body.encode() if isinstance(body, str) else body,
        terminal_id=os.environ["ONECARD_FUZZ_TERMINAL_ID"],
    )
    case.headers = {**(case.headers or {}), **headers}
