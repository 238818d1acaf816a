"""Terminal pages: scoped lists, registration showing the secret once, rotate and deactivate."""

import re

from onecard.core.models import AuditEntry
from onecard.pos import services
from onecard.pos.models import Terminal


def _secret_on(html):
    match = re.search(r"data-secret>([^<]+)<", html)
    return match.group(1) if match else None


def test_store_manager_sees_only_their_stores_terminals(chain, login):
    # given
    services.register_terminal(chain.hq_admin, store=chain.a1, name="Till A1")
    b1 = services.register_terminal(chain.hq_admin, store=chain.b1, name="Till B1").terminal
    # when
    client = login(chain.store_manager)
    html = client.get("/pos/terminals/").content.decode()
    # then
    assert "T-A1-0001" in html
    assert "T-B1-0001" not in html
    assert client.get(f"/pos/terminals/{b1.pk}/").status_code == 404
    assert client.post(f"/pos/terminals/{b1.pk}/rotate/").status_code == 404
    assert client.post(f"/pos/terminals/{b1.pk}/deactivate/").status_code == 404
    assert Terminal.objects.get(pk=b1.pk).is_active


def test_region_manager_sees_the_regions_terminals(chain, login):
    services.register_terminal(chain.hq_admin, store=chain.a2, name="Till A2")
    services.register_terminal(chain.hq_admin, store=chain.b1, name="Till B1")
    html = login(chain.region_manager).get("/pos/terminals/").content.decode()
    assert "T-A2-0001" in html and "T-B1-0001" not in html


def test_a_cashier_may_not_open_the_terminal_pages(chain, login):
    assert login(chain.cashier_a1).get("/pos/terminals/").status_code == 403


def test_registration_shows_the_secret_once(chain, login):
    # given
    client = login(chain.store_manager)
    form = client.get("/pos/terminals/new/").content.decode()
    assert f'value="{chain.a1.pk}"' in form and f'value="{chain.b1.pk}"' not in form
    # when
    response = client.post(
        "/pos/terminals/new/", {"store": chain.a1.pk, "name": "Till 1", "kind": "pos"}, follow=True
    )
    # then the page after registration shows the secret, uncached
    terminal = Terminal.objects.get()
    html = response.content.decode()
    assert _secret_on(html) == terminal.secret
    assert "仅显示这一次" in html  # the default UI language is Simplified Chinese
    assert "no-store" in response["Cache-Control"]
    # and later page loads never show it again
    again = client.get(f"/pos/terminals/{terminal.pk}/").content.decode()
    assert _secret_on(again) is None
    assert terminal.secret not in again
    assert terminal.secret not in client.get("/pos/terminals/").content.decode()


def test_a_store_manager_cannot_register_at_another_store(chain, login):
    response = login(chain.store_manager).post(
        "/pos/terminals/new/", {"store": chain.b1.pk, "name": "Sneaky", "kind": "pos"}
    )
    assert response.status_code == 200  # the form again, with an error
    assert not Terminal.objects.exists()


def test_rotation_from_the_page_shows_the_new_secret_once(chain, login, terminal):
    # given
    client = login(chain.store_manager)
    # when
    response = client.post(f"/pos/terminals/{terminal.terminal.pk}/rotate/", follow=True)
    # then
    new_secret = Terminal.objects.get(pk=terminal.terminal.pk).secret
    assert new_secret != terminal.secret
    assert _secret_on(response.content.decode()) == new_secret
    assert _secret_on(client.get(f"/pos/terminals/{terminal.terminal.pk}/").content.decode()) is None
    assert AuditEntry.objects.filter(subject_type="pos.terminal", note="secret rotated").count() == 1


def test_deactivation_from_the_page(chain, login, terminal):
    client = login(chain.store_manager)
    response = client.post(f"/pos/terminals/{terminal.terminal.pk}/deactivate/", follow=True)
    assert response.status_code == 200
    assert not Terminal.objects.get(pk=terminal.terminal.pk).is_active
    assert AuditEntry.objects.filter(
        subject_type="pos.terminal", action="update", after={"is_active": False}
    ).exists()


def test_rotate_and_deactivate_need_post(chain, login, terminal):
    client = login(chain.store_manager)
    assert client.get(f"/pos/terminals/{terminal.terminal.pk}/rotate/").status_code == 405
    assert client.get(f"/pos/terminals/{terminal.terminal.pk}/deactivate/").status_code == 405


def test_the_navigation_offers_terminals_to_managers_only(chain, login):
    assert "/pos/terminals/" in login(chain.store_manager).get("/").content.decode()
    assert "/pos/terminals/" not in login(chain.cashier_a1).get("/").content.decode()
