"""Fixtures every app's tests share: a small chain with staff in every role, and logged-in clients."""

import os
import shutil
from types import SimpleNamespace

import pytest


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


@pytest.fixture
def chain(db):
    """Merchant 'acme': HQ → East (Store A1, A2), North (Store B1); staff in every role; a second merchant."""
    from onecard.org import services
    from onecard.org.choices import NodeKind
    from onecard.org.models import Staff

    roles = services.ensure_builtin_roles()
    merchant = services.create_merchant(None, name="Acme 连锁", code="acme", hq_name="总部")
    hq = merchant.nodes.get(kind=NodeKind.HQ)
    east = services.create_node(None, parent=hq, kind=NodeKind.REGION, name="华东区", code="E")
    north = services.create_node(None, parent=hq, kind=NodeKind.REGION, name="华北区", code="N")
    a1 = services.create_node(None, parent=east, kind=NodeKind.STORE, name="徐汇店", code="A1")
    a2 = services.create_node(None, parent=east, kind=NodeKind.STORE, name="浦东店", code="A2")
    b1 = services.create_node(None, parent=north, kind=NodeKind.STORE, name="朝阳店", code="B1")
    other = services.create_merchant(None, name="Other 商户", code="other", hq_name="其他总部")
    other_hq = other.nodes.get(kind=NodeKind.HQ)
    other_store = services.create_node(None, parent=other_hq, kind=NodeKind.STORE, name="其他店", code="O1")

    def make(username, node, role):
        return services.create_staff(
            None,
            username=username,
            password="pass-word-123",
            node=node,
            roles=[roles[role]],
            display_name=username,
        )

    admin = Staff.objects.create_superuser("root", password="pass-word-123")
    return SimpleNamespace(
        merchant=merchant,
        hq=hq,
        east=east,
        north=north,
        a1=a1,
        a2=a2,
        b1=b1,
        roles=roles,
        other=other,
        other_hq=other_hq,
        other_store=other_store,
        admin=admin,
        hq_admin=make("hqadmin", hq, "hq_admin"),
        region_manager=make("eastmgr", east, "region_manager"),
        store_manager=make("a1mgr", a1, "store_manager"),
        cashier_a1=make("a1cash", a1, "cashier"),
        cashier_b1=make("b1cash", b1, "cashier"),
        marketer=make("mkt", hq, "marketer"),
        sales=make("sales", a1, "sales_rep"),
        service=make("svc", hq, "service_agent"),
        other_manager=make("othermgr", other_store, "store_manager"),
    )


@pytest.fixture
def member_factory(chain):
    """make_member(store=chain.a1, **fields) → a member created through the service."""
    from onecard.members import services

    counter = {"n": 0}

    def make_member(store=None, actor=None, **fields):
        counter["n"] += 1
        store = store or chain.a1
        data = {"name": "张三", "phone": f"1380000{counter['n']:04d}", "home_store": store, **fields}
        merchant = store.merchant
        return services.create_member(actor, merchant, data)

    return make_member


@pytest.fixture
def login(client):
    """login(user) → the Django test client logged in as that user."""

    def do_login(user):
        client.force_login(user)
        return client

    return do_login


# ---- browser tests ------------------------------------------------------------------------------------

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = os.path.join(os.path.dirname(__file__), "test-artifacts")


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium driven by Playwright (Playwright's own browser download does not work here)."""
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("chromium is not installed: apt-get install -y chromium fonts-wqy-microhei")
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are still synchronous.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, live_server):
    """A fresh browser page with a tablet-sized window; `page.goto_path("/x/")` opens the live server."""
    context = chromium.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto_path = lambda path: page.goto(live_server.url + path)
    os.makedirs(ARTIFACTS, exist_ok=True)
    yield page
    context.close()


@pytest.fixture
def screenshot(page):
    """screenshot("name") saves test-artifacts/name.png and returns its path."""

    def take(name):
        path = os.path.join(ARTIFACTS, f"{name}.png")
        page.screenshot(path=path, full_page=True)
        return path

    return take
