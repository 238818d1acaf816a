"""The client's address as the audit log and the log-in lock-out see it, with and without reverse proxies."""

import pytest
from django.test import RequestFactory

from onecard.core.middleware import client_ip

FORGED_AND_REAL = "6.6.6.6, 203.0.113.9"  # the client wrote the first, the proxy appended the second


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, FORGED_AND_REAL, "10.0.0.1"),  # no proxy trusted: the header is ignored
        (1, FORGED_AND_REAL, "203.0.113.9"),  # one proxy: the entry it appended, never the forged one
        (2, FORGED_AND_REAL + ", 10.0.0.2", "203.0.113.9"),  # two proxies: the second from the right
        (2, "203.0.113.9", "10.0.0.1"),  # fewer entries than proxies: not through them all
        (1, "6.6.6.6, not-an-address", "10.0.0.1"),  # garbage is not an address
        (1, "", "10.0.0.1"),
    ],
)
def test_client_address(settings, proxies, forwarded, expected):
    # given
    settings.ONECARD_TRUSTED_PROXIES = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)
    # when / then
    assert client_ip(request) == expected
