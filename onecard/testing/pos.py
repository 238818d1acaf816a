"""Helpers of the POS API tests: Idempotency-Keys, keyed signed requests, problem codes, stored keys."""

import uuid

from onecard.loyalty.models.stored_value import CardTransaction


def idempotency_key():
    """A fresh Idempotency-Key."""
    return f"k-{uuid.uuid4().hex}"


def send_keyed(pos, terminal, path, payload=None, key=None, *, method="POST", **over):
    """A signed request (the `pos` fixture) carrying `key` as its Idempotency-Key (none when key is None)."""
    headers = over.pop("headers", {})
    if key:
        headers = {"HTTP_IDEMPOTENCY_KEY": key, **headers}
    return pos.send(method, terminal, path, payload, headers=headers, **over)


def problem_code(response):
    """The machine `code` of a problem+json answer (None when it has none)."""
    return response.json().get("code")


def stored_key(terminal, key):
    """The idempotency key as the server stores it for that terminal."""
    return f"terminal:{terminal.terminal.pk}:{key}"


def terminal_transactions(terminal):
    """The card transactions made by requests of that terminal (keyed ones)."""
    return CardTransaction.objects.filter(idempotency_key__startswith=f"terminal:{terminal.terminal.pk}:")
