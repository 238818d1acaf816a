"""POS fixtures: a registered terminal of store A1 and a client that signs its requests."""

import json
from types import SimpleNamespace

import pytest
from rest_framework.test import APIClient

from onecard.pos import services
from onecard.pos.signing import as_wsgi_headers, sign_request


@pytest.fixture
def terminal(chain):
    """Terminal of store A1 registered by its store manager: .terminal and .secret (as shown once)."""
    return services.register_terminal(chain.store_manager, store=chain.a1, name="Till 1")


@pytest.fixture
def pos(db):
    """pos.get(issued, path) / pos.post(issued, path, payload): signed requests; keyword overrides:

    body= the raw bytes sent (signed as given), signed_body= what was signed instead, signed_path=,
    timestamp=, nonce=, secret=, terminal_id=, headers= (extra or replaced WSGI headers).
    """

    def send(method, issued, path, payload=None, **over):
        body = over.pop("body", json.dumps(payload).encode() if payload is not None else b"")
        headers = sign_request(
            over.pop("secret", issued.secret),
            method,
            over.pop("signed_path", path),
            over.pop("signed_body", body),
            timestamp=over.pop("timestamp", None),
            nonce=over.pop("nonce", None),
            terminal_id=over.pop("terminal_id", issued.terminal.terminal_id),
        )
        extra = {**as_wsgi_headers(headers), **over.pop("headers", {})}
        assert not over, over
        client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
        kwargs = {"content_type": "application/json"} if body else {}
        return client.generic(method, path, body, **kwargs, **extra)

    return SimpleNamespace(
        get=lambda issued, path, **over: send("GET", issued, path, **over),
        post=lambda issued, path, payload=None, **over: send("POST", issued, path, payload, **over),
        send=send,
    )
