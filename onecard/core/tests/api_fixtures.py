"""Fixtures of the API tests: the API-only urlconf and a client logged in with a real token."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient


@pytest.fixture(autouse=True)
def api_urls(settings):
    """Serve the API without the web UI, so API tests do not depend on the pages."""
    settings.ROOT_URLCONF = "onecard.core.tests.api_urlconf"
    cache.clear()  # the token endpoint's throttle counts in the cache
    yield
    cache.clear()


@pytest.fixture
def api(db):
    """api(user, lang="en") → an APIClient that sends the user's token and Accept-Language."""

    def make(user=None, lang="en"):
        from rest_framework.authtoken.models import Token

        client = APIClient(HTTP_ACCEPT_LANGUAGE=lang)
        if user is not None:
            token, _ = Token.objects.get_or_create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return make
