"""The suite's wiring: the shared fixtures (onecard/testing/fixtures/, one module per domain) registered once,
the postgres/browser markers turned into skips, and rule caches emptied around each test.

Helpers are plain functions in onecard/testing/ (`from onecard.testing.cards import put_value`).
"""

import os
import shutil

import pytest

pytest_plugins = [
    "onecard.testing.fixtures.org",
    "onecard.testing.fixtures.members",
    "onecard.testing.fixtures.member_imports",
    "onecard.testing.fixtures.api",
    "onecard.testing.fixtures.catalog",
    "onecard.testing.fixtures.cards",
    "onecard.testing.fixtures.ledger",
    "onecard.testing.fixtures.packages",
    "onecard.testing.fixtures.checkout",
    "onecard.testing.fixtures.pos",
    "onecard.testing.fixtures.browser",
]


def pytest_collection_modifyitems(config, items):
    from django.conf import settings

    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    have_browser = shutil.which("chromium") is not None and not os.environ.get("ONECARD_SKIP_BROWSER")
    require_browser = bool(os.environ.get("ONECARD_REQUIRE_BROWSER"))
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL (set ONECARD_TEST_DATABASE_URL)"))
        if "browser" in item.keywords and not have_browser and not require_browser:
            item.add_marker(pytest.mark.skip(reason="Chromium not installed (apt-get install chromium)"))


@pytest.fixture(autouse=True)
def _fresh_rules_cache():
    """Each test starts without cached earn rules or promotions: a rolled-back test's must not leak into the next."""
    from onecard.loyalty.points.rules import forget_cached_rules
    from onecard.promotions.rules import forget_cached_promotions

    forget_cached_rules()
    forget_cached_promotions()
    yield
    forget_cached_rules()
    forget_cached_promotions()


@pytest.fixture(autouse=True)
def _shop_language():
    """Each test starts in the shop's language (LANGUAGE_CODE): a page asked for in English by an earlier test
    leaves English active in the thread, and a service's message must not depend on which test ran before."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)
