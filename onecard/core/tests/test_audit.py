"""The audit log: who did what, from where; scoped like every list; read-only everywhere."""

import io
import re

import pytest
from django.urls import reverse

from onecard.core import audit
from onecard.core.models import AuditEntry
from onecard.org import services
from onecard.org.choices import NodeKind

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]  # pages in English


def _entry_ids(html):
    return {int(pk) for pk in re.findall(r'data-entry="(\d+)"', html)}


@pytest.fixture
def entries(chain):
    """One audit row per place: a node change in A1, A2, B1, a merchant-wide role, the other merchant."""
    rows = {}
    for name, node in (("a1", chain.a1), ("a2", chain.a2), ("b1", chain.b1), ("other", chain.other_store)):
        services.update_node(None, node, phone=f"phone-{name}")
        rows[name] = AuditEntry.objects.filter(subject_id=str(node.pk), action="update").get()
    role = services.create_role(None, merchant=chain.merchant, name="储值", permissions=["members.view"])
    rows["role"] = AuditEntry.objects.get(subject_type="org.role", subject_id=str(role.pk))
    return rows


def test_entries_carry_actor_subject_before_after_and_ip(chain, login):
    # given
    client = login(chain.hq_admin)
    # when
    client.post(
        reverse("org:node_edit", args=[chain.a1.pk]),
        {"name": "徐汇旗舰店", "is_active": "on"},
        REMOTE_ADDR="192.0.2.7",
        HTTP_USER_AGENT="till-7",
    )
    # then
    entry = AuditEntry.objects.get(subject_type="org.orgnode", subject_id=str(chain.a1.pk), action="update")
    assert entry.actor == chain.hq_admin and entry.actor_name == "hqadmin"
    assert entry.subject_repr == "徐汇旗舰店" and entry.node == chain.a1 and entry.merchant == chain.merchant
    assert entry.before == {"name": "徐汇店"} and entry.after == {"name": "徐汇旗舰店"}
    assert entry.ip == "192.0.2.7" and entry.user_agent == "till-7"


def test_region_manager_sees_only_entries_of_the_east_subtree(chain, login, entries):
    html = login(chain.region_manager).get(reverse("core:audit_log"), {"action": "update"}).content.decode()
    assert _entry_ids(html) == {entries["a1"].pk, entries["a2"].pk}


def test_store_manager_sees_only_their_store(chain, login, entries):
    html = login(chain.store_manager).get(reverse("core:audit_log"), {"action": "update"}).content.decode()
    assert _entry_ids(html) == {entries["a1"].pk}


def test_hq_sees_merchant_wide_rows_but_not_other_merchants(chain, login, entries):
    html = login(chain.hq_admin).get(reverse("core:audit_log")).content.decode()
    ids = _entry_ids(html)
    assert {entries["a1"].pk, entries["b1"].pk, entries["role"].pk} <= ids
    assert entries["other"].pk not in ids


def test_system_admin_sees_both_merchants(chain, login, entries):
    html = login(chain.admin).get(reverse("core:audit_log"), {"action": "update"}).content.decode()
    assert _entry_ids(html) == {entries["a1"].pk, entries["a2"].pk, entries["b1"].pk, entries["other"].pk}


def test_filters_by_search_subject_type_actor_and_dates(chain, login, entries):
    client = login(chain.hq_admin)
    url = reverse("core:audit_log")

    def ids(**params):
        return _entry_ids(client.get(url, params).content.decode())

    assert ids(q="浦东", action="update") == {entries["a2"].pk}
    assert ids(subject_type="org.role") == {entries["role"].pk}
    services.update_node(chain.region_manager, chain.a2, phone="by-east")
    by_east = AuditEntry.objects.filter(actor=chain.region_manager).latest("id")
    assert ids(actor="eastmgr") == {by_east.pk}
    today = entries["a1"].at.astimezone().date().isoformat()
    assert entries["a1"].pk in ids(**{"from": today, "to": today})
    assert ids(**{"from": "2001-01-01", "to": "2001-01-31"}) == set()
    assert entries["a1"].pk in ids(**{"from": "not-a-date"})  # a broken date filters nothing


def test_paginates_fifty_per_page(chain, login):
    for i in range(55):
        audit.record(chain.hq_admin, "update", chain.a1, after={"i": i})
    client = login(chain.hq_admin)
    first = _entry_ids(
        client.get(reverse("core:audit_log"), {"subject_type": "org.orgnode"}).content.decode()
    )
    second = client.get(
        reverse("core:audit_log"), {"subject_type": "org.orgnode", "page": 2}
    ).content.decode()
    assert len(first) == 50
    assert len(_entry_ids(second)) == 55 + 5 - 50  # 55 rows above + the 5 acme nodes the chain created
    assert "subject_type=org.orgnode&amp;page=1" in second


def test_audit_log_has_no_edit_controls_and_refuses_writes(chain, login, entries):
    client = login(chain.hq_admin)
    main = client.get(reverse("core:audit_log")).content.decode().split("<main", 1)[1]
    assert 'method="post"' not in main.lower()
    assert (
        "/edit" not in main
        and "/delete" not in main
        and "<button" not in main.replace('<button class="btn btn-primary" type="submit">Filter</button>', "")
    )
    count = AuditEntry.objects.count()
    assert client.post(reverse("core:audit_log"), {"id": entries["a1"].pk}).status_code == 405
    assert client.delete(reverse("core:audit_log")).status_code == 405
    assert client.put(reverse("core:audit_log")).status_code == 405
    assert AuditEntry.objects.count() == count


def test_cashier_cannot_open_the_audit_log(chain, login):
    assert login(chain.cashier_a1).get(reverse("core:audit_log")).status_code == 403


def test_export_contains_the_filtered_entries_and_is_audited(chain, login, entries):
    from openpyxl import load_workbook

    # given
    client = login(chain.region_manager)
    # when
    response = client.get(reverse("core:audit_log"), {"action": "update", "export": "xlsx"})
    # then
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("Time", "Actor", "Action")
    assert sorted(r[4] for r in rows[1:]) == sorted([str(chain.a1.pk), str(chain.a2.pk)])
    export = AuditEntry.objects.get(action="export")
    assert export.actor == chain.region_manager and export.after == {
        "rows": 2,
        "filters": {"action": "update"},
    }


def test_login_is_audited_with_the_address(chain, client):
    # when: a real login through the login form
    response = client.post(
        reverse("login"), {"username": "a1cash", "password": "pass-word-123"}, REMOTE_ADDR="198.51.100.4"
    )
    # then
    assert response.status_code == 302
    entry = AuditEntry.objects.get(action="login")
    assert entry.actor == chain.cashier_a1 and entry.subject_id == str(chain.cashier_a1.pk)
    assert entry.node == chain.a1 and entry.ip == "198.51.100.4"
    assert "pass-word-123" not in str(entry.after) + str(entry.before) + entry.note


def test_own_password_change_is_audited_without_the_password(chain, login):
    client = login(chain.cashier_a1)
    response = client.post(
        reverse("password_change"),
        {"old_password": "pass-word-123", "new_password1": "Brand-new-777", "new_password2": "Brand-new-777"},
        REMOTE_ADDR="203.0.113.9",
    )
    assert response.status_code == 302
    chain.cashier_a1.refresh_from_db()
    assert chain.cashier_a1.check_password("Brand-new-777")
    entry = AuditEntry.objects.filter(action="update", subject_id=str(chain.cashier_a1.pk)).get()
    assert entry.actor == chain.cashier_a1 and entry.after == {"password": "changed"}
    assert entry.ip == "203.0.113.9"
    assert "Brand-new-777" not in str(list(AuditEntry.objects.values()))
    assert client.get(reverse("home")).status_code == 200  # still logged in


def test_own_password_change_with_wrong_old_password_changes_nothing(chain, login):
    client = login(chain.cashier_a1)
    response = client.post(
        reverse("password_change"),
        {"old_password": "wrong", "new_password1": "Brand-new-777", "new_password2": "Brand-new-777"},
    )
    assert response.status_code == 200
    assert not AuditEntry.objects.filter(action="update", subject_id=str(chain.cashier_a1.pk)).exists()


def test_every_org_service_write_is_audited(chain):
    from onecard.org.models import Staff

    before = AuditEntry.objects.count()
    node = services.create_node(chain.hq_admin, parent=chain.north, kind=NodeKind.STORE, name="n", code="N9")
    chain.hq_admin = Staff.objects.get(pk=chain.hq_admin.pk)  # a fresh object, as a new request would load
    services.update_node(chain.hq_admin, node, name="n2")
    staff = services.create_staff(
        chain.hq_admin, username="n9", password="Long-pass-987", node=node, roles=[chain.roles["cashier"]]
    )
    services.update_staff(chain.hq_admin, staff, display_name="九号")
    services.set_staff_password(chain.hq_admin, staff, "Other-pass-654")
    role = services.create_role(chain.hq_admin, merchant=chain.merchant, name="r", permissions=[])
    services.update_role(chain.hq_admin, role, name="r2")
    services.delete_role(chain.hq_admin, role)
    services.create_merchant(chain.admin, name="Third", code="third")
    actions = list(AuditEntry.objects.order_by("id").values_list("action", "subject_type"))[before:]
    assert actions == [
        ("create", "org.orgnode"),
        ("update", "org.orgnode"),
        ("create", "org.staff"),
        ("update", "org.staff"),
        ("update", "org.staff"),
        ("permission", "org.role"),
        ("permission", "org.role"),
        ("delete", "org.role"),
        ("create", "org.merchant"),
    ]


def test_admin_shows_audit_entries_read_only(chain, login, entries):
    from django.contrib import admin
    from django.test import RequestFactory

    from onecard.core.models import AuditEntry as Model

    model_admin = admin.site._registry[Model]
    request = RequestFactory().get("/admin/")
    request.user = chain.admin
    assert model_admin.has_view_permission(request) is True
    assert model_admin.has_add_permission(request) is False
    assert model_admin.has_change_permission(request, entries["a1"]) is False
    assert model_admin.has_delete_permission(request, entries["a1"]) is False
    client = login(chain.admin)
    chain.admin.is_staff = True
    chain.admin.save(update_fields=["is_staff"])
    url = reverse("admin:core_auditentry_change", args=[entries["a1"].pk])
    assert client.get(url).status_code == 200
    assert (
        client.post(
            reverse("admin:core_auditentry_delete", args=[entries["a1"].pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert AuditEntry.objects.filter(pk=entries["a1"].pk).exists()
    assert client.get(reverse("admin:core_auditentry_add")).status_code == 403


def test_admin_is_for_superusers_only(chain, login):
    chain.hq_admin.is_staff = True
    chain.hq_admin.save(update_fields=["is_staff"])
    response = login(chain.hq_admin).get(reverse("admin:org_role_changelist"))
    assert response.status_code in (302, 403)
