"""The organisation pages: org tree, staff and roles, each scoped to the viewer."""

import re

import pytest
from django.urls import reverse

from onecard.core.models import AuditEntry
from onecard.org.models import OrgNode, Role, Staff

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]  # pages in English


def _node_ids(html):
    return {int(pk) for pk in re.findall(r'data-node="(\d+)"', html)}


def _staff_names(html):
    return set(re.findall(r'data-staff="([^"]+)"', html))


# ---- org tree --------------------------------------------------------------------------------------------


def test_region_manager_sees_exactly_the_east_subtree(chain, login):
    # given
    client = login(chain.region_manager)
    # when
    response = client.get(reverse("org:tree"))
    # then
    assert response.status_code == 200
    assert _node_ids(response.content.decode()) == {chain.east.pk, chain.a1.pk, chain.a2.pk}


def test_tree_counts_members_and_staff_per_subtree(
    chain, login, member_factory, django_assert_max_num_queries
):
    # given: 2 members in A1, 1 in A2, 1 in B1
    member_factory(store=chain.a1)
    member_factory(store=chain.a1)
    member_factory(store=chain.a2)
    member_factory(store=chain.b1)
    client = login(chain.hq_admin)
    # when
    with django_assert_max_num_queries(12):
        html = client.get(reverse("org:tree")).content.decode()

    # then: totals roll up (HQ: 4 members; East: 3), staff of A1: a1mgr, a1cash, sales
    def counts(node):
        block = html.split(f'data-node="{node.pk}"', 1)[1]
        members = re.search(r'data-count="members">(\d+)<', block).group(1)
        staff = re.search(r'data-count="staff">(\d+)<', block).group(1)
        return int(members), int(staff)

    assert counts(chain.hq) == (4, 8)
    assert counts(chain.east) == (3, 4)
    assert counts(chain.a1) == (2, 3)
    assert counts(chain.a2) == (1, 0)
    assert counts(chain.b1) == (1, 1)


def test_system_admin_sees_every_merchant(chain, login):
    html = login(chain.admin).get(reverse("org:tree")).content.decode()
    ids = _node_ids(html)
    assert {chain.hq.pk, chain.b1.pk, chain.other_hq.pk, chain.other_store.pk} <= ids
    assert "Acme 连锁" in html and "Other 商户" in html


def test_cashier_cannot_open_the_org_tree(chain, login):
    assert login(chain.cashier_a1).get(reverse("org:tree")).status_code == 403


def test_hq_admin_creates_a_store_below_a_region(chain, login):
    # given
    client = login(chain.hq_admin)
    url = reverse("org:node_create") + f"?parent={chain.north.pk}"
    # when
    response = client.post(url, {"kind": "store", "name": "海淀店", "code": "B2", "phone": "010-1"})
    # then
    assert response.status_code == 302
    node = OrgNode.objects.get(code="B2")
    assert node.parent == chain.north and node.path == f"{chain.north.path}{node.pk}/"
    entry = AuditEntry.objects.get(subject_type="org.orgnode", subject_id=str(node.pk), action="create")
    assert entry.actor == chain.hq_admin and entry.after["name"] == "海淀店"


def test_node_create_shows_service_errors_next_to_fields(chain, login):
    client = login(chain.hq_admin)
    url = reverse("org:node_create") + f"?parent={chain.north.pk}"
    response = client.post(url, {"kind": "store", "name": "重复", "code": "A1"})
    assert response.status_code == 200
    assert "This code is already used." in response.content.decode()
    assert OrgNode.objects.filter(name="重复").count() == 0


def test_region_manager_cannot_create_or_edit_outside_their_region(chain, login):
    client = login(chain.region_manager)
    assert client.get(reverse("org:node_create") + f"?parent={chain.north.pk}").status_code == 404
    assert client.get(reverse("org:node_edit", args=[chain.b1.pk])).status_code == 404
    response = client.post(reverse("org:node_edit", args=[chain.b1.pk]), {"name": "x", "is_active": "on"})
    assert response.status_code == 404
    chain.b1.refresh_from_db()
    assert chain.b1.name == "朝阳店"


def test_store_manager_cannot_edit_nodes(chain, login):
    client = login(chain.store_manager)
    assert client.get(reverse("org:node_edit", args=[chain.a1.pk])).status_code == 403
    assert client.get(reverse("org:node_edit", args=[chain.b1.pk])).status_code == 403


def test_edit_node_renames_and_deactivates_with_audit(chain, login):
    client = login(chain.region_manager)
    response = client.post(
        reverse("org:node_edit", args=[chain.a2.pk]), {"name": "浦东新店", "address": "世纪大道 1 号"}
    )
    assert response.status_code == 302
    chain.a2.refresh_from_db()
    assert (chain.a2.name, chain.a2.is_active) == ("浦东新店", False)
    entry = AuditEntry.objects.get(subject_type="org.orgnode", subject_id=str(chain.a2.pk), action="update")
    assert entry.before == {"address": "", "is_active": True, "name": "浦东店"}
    assert entry.after == {"address": "世纪大道 1 号", "is_active": False, "name": "浦东新店"}


def test_headquarters_cannot_be_deactivated(chain, login):
    response = login(chain.hq_admin).post(reverse("org:node_edit", args=[chain.hq.pk]), {"name": "总部"})
    assert response.status_code == 200
    assert "Headquarters cannot be deactivated." in response.content.decode()
    chain.hq.refresh_from_db()
    assert chain.hq.is_active is True


# ---- staff -----------------------------------------------------------------------------------------------


def test_region_manager_staff_list_shows_only_east(chain, login):
    html = login(chain.region_manager).get(reverse("org:staff_list")).content.decode()
    assert _staff_names(html) == {"eastmgr", "a1mgr", "a1cash", "sales"}


def test_staff_list_search_and_filters(chain, login):
    client = login(chain.hq_admin)
    url = reverse("org:staff_list")
    assert _staff_names(client.get(url, {"q": "cash"}).content.decode()) == {"a1cash", "b1cash"}
    assert _staff_names(client.get(url, {"node": chain.north.pk}).content.decode()) == {"b1cash"}
    cashier = chain.roles["cashier"].pk
    assert _staff_names(client.get(url, {"role": cashier, "node": chain.east.pk}).content.decode()) == {
        "a1cash"
    }
    # a node outside the scope filters to nothing rather than leaking
    east = login(chain.region_manager).get(url, {"node": chain.b1.pk}).content.decode()
    assert _staff_names(east) == set()


def test_store_manager_cannot_open_staff_of_another_store(chain, login):
    client = login(chain.store_manager)
    assert client.get(reverse("org:staff_edit", args=[chain.cashier_a1.pk])).status_code == 200
    assert client.get(reverse("org:staff_edit", args=[chain.cashier_b1.pk])).status_code == 404
    # viewing is allowed, changing is not
    response = client.post(reverse("org:staff_edit", args=[chain.cashier_a1.pk]), {"node": chain.a1.pk})
    assert response.status_code == 403
    assert client.get(reverse("org:staff_password", args=[chain.cashier_a1.pk])).status_code == 403


def test_cashier_cannot_open_staff_or_roles_pages(chain, login):
    client = login(chain.cashier_a1)
    assert client.get(reverse("org:staff_list")).status_code == 403
    assert client.get(reverse("org:staff_create")).status_code == 403
    assert client.get(reverse("org:role_list")).status_code == 403
    assert client.get(reverse("org:role_create")).status_code == 403


def test_region_manager_creates_a_cashier_in_their_region(chain, login):
    # given
    client = login(chain.region_manager)
    # when
    response = client.post(
        reverse("org:staff_create"),
        {
            "username": "a2cash",
            "display_name": "浦东收银",
            "node": chain.a2.pk,
            "roles": [chain.roles["cashier"].pk],
            "password1": "Long-pass-987",
            "password2": "Long-pass-987",
        },
        REMOTE_ADDR="10.1.2.3",
    )
    # then
    assert response.status_code == 302
    staff = Staff.objects.get(username="a2cash")
    assert staff.node == chain.a2 and [r.code for r in staff.roles.all()] == ["cashier"]
    assert staff.check_password("Long-pass-987")
    entry = AuditEntry.objects.get(subject_type="org.staff", subject_id=str(staff.pk), action="create")
    assert entry.actor == chain.region_manager and entry.ip == "10.1.2.3"
    # The audit keeps the role's name as stored (its language is the one active when the roles were made).
    assert entry.after["roles"] == [chain.roles["cashier"].name] and "password" not in entry.after


def test_staff_create_offers_only_nodes_in_scope(chain, login):
    html = login(chain.region_manager).get(reverse("org:staff_create")).content.decode()
    options = set(map(int, re.findall(r'<option value="(\d+)"', html)))
    assert options == {chain.east.pk, chain.a1.pk, chain.a2.pk}


def test_creating_staff_with_a_role_beyond_the_actor_is_refused(chain, login):
    # given: the region manager does not hold roles.manage, which the HQ admin role grants
    client = login(chain.region_manager)
    # when
    response = client.post(
        reverse("org:staff_create"),
        {
            "username": "sneaky",
            "node": chain.a1.pk,
            "roles": [chain.roles["hq_admin"].pk],
            "password1": "Long-pass-987",
            "password2": "Long-pass-987",
        },
    )
    # then: the form comes back with the error next to the roles, and nothing is saved
    assert response.status_code == 200
    html = response.content.decode()
    assert "You cannot grant permissions you do not hold yourself." in html
    assert re.search(r'data-field="roles".*?errorlist', html, re.S)
    assert not Staff.objects.filter(username="sneaky").exists()
    assert not AuditEntry.objects.filter(subject_repr="sneaky").exists()


def test_staff_create_cannot_place_staff_outside_scope(chain, login):
    response = login(chain.region_manager).post(
        reverse("org:staff_create"),
        {
            "username": "north1",
            "node": chain.b1.pk,
            "roles": [chain.roles["cashier"].pk],
            "password1": "Long-pass-987",
            "password2": "Long-pass-987",
        },
    )
    assert response.status_code == 200
    assert not Staff.objects.filter(username="north1").exists()


def test_weak_password_is_shown_next_to_the_password_field(chain, login):
    response = login(chain.hq_admin).post(
        reverse("org:staff_create"),
        {"username": "weak", "node": chain.a1.pk, "password1": "12345678", "password2": "12345678"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert re.search(r'data-field="password1".*?errorlist', html, re.S)
    assert not Staff.objects.filter(username="weak").exists()


def test_deactivating_staff_is_audited_and_links_to_the_member_transfer(chain, login):
    # given
    client = login(chain.hq_admin)
    url = reverse("org:staff_edit", args=[chain.cashier_a1.pk])
    # when: the form is sent without "is_active" (the box cleared)
    response = client.post(
        url, {"node": chain.a1.pk, "roles": [chain.roles["cashier"].pk], "display_name": "a1cash"}
    )
    # then
    assert response.status_code == 302
    chain.cashier_a1.refresh_from_db()
    assert chain.cashier_a1.is_active is False
    entry = AuditEntry.objects.filter(subject_id=str(chain.cashier_a1.pk), action="update").latest("id")
    assert entry.before == {"is_active": True} and entry.after == {"is_active": False}
    page = client.get(url).content.decode()
    assert f"?from_owner={chain.cashier_a1.pk}" in page


def test_changing_roles_is_a_permission_change_in_the_audit_log(chain, login):
    client = login(chain.hq_admin)
    response = client.post(
        reverse("org:staff_edit", args=[chain.cashier_a1.pk]),
        {
            "node": chain.a1.pk,
            "roles": [chain.roles["cashier"].pk, chain.roles["sales_rep"].pk],
            "is_active": "on",
            "display_name": "a1cash",
        },
    )
    assert response.status_code == 302
    entry = AuditEntry.objects.filter(subject_id=str(chain.cashier_a1.pk), action="permission").get()
    cashier, sales_rep = chain.roles["cashier"].name, chain.roles["sales_rep"].name
    assert entry.before == {"roles": [cashier]}
    assert entry.after == {"roles": sorted([cashier, sales_rep])}


def test_nobody_can_deactivate_themselves(chain, login):
    client = login(chain.hq_admin)
    response = client.post(
        reverse("org:staff_edit", args=[chain.hq_admin.pk]),
        {"node": chain.hq.pk, "roles": [chain.roles["hq_admin"].pk]},
    )
    assert response.status_code == 200
    assert "You cannot deactivate your own account." in response.content.decode()
    chain.hq_admin.refresh_from_db()
    assert chain.hq_admin.is_active is True


def test_set_password_never_logs_the_password(chain, login):
    client = login(chain.region_manager)
    response = client.post(
        reverse("org:staff_password", args=[chain.cashier_a1.pk]),
        {"password1": "Fresh-pass-456", "password2": "Fresh-pass-456"},
    )
    assert response.status_code == 302
    chain.cashier_a1.refresh_from_db()
    assert chain.cashier_a1.check_password("Fresh-pass-456")
    entry = AuditEntry.objects.filter(subject_id=str(chain.cashier_a1.pk)).latest("id")
    assert entry.after == {"password": "changed"}
    assert "Fresh-pass-456" not in str(list(AuditEntry.objects.values()))


# ---- roles -----------------------------------------------------------------------------------------------


def test_role_list_shows_builtin_and_own_custom_roles(chain, login):
    from onecard.org import services

    services.create_role(None, merchant=chain.merchant, name="储值专员", permissions=["members.view"])
    services.create_role(None, merchant=chain.other, name="别家角色", permissions=["members.view"])
    html = login(chain.hq_admin).get(reverse("org:role_list")).content.decode()
    assert "储值专员" in html and "别家角色" not in html
    assert "Region manager" in html and "View the audit log" in html


def test_custom_role_create_edit_delete_with_audit(chain, login):
    client = login(chain.hq_admin)
    # create
    response = client.post(
        reverse("org:role_create"),
        {"name": "储值专员", "description": "充值", "permissions": ["members.view", "members.add"]},
    )
    assert response.status_code == 302
    role = Role.objects.get(name="储值专员")
    assert role.merchant == chain.merchant and role.permissions == ["members.add", "members.view"]
    created = AuditEntry.objects.get(subject_type="org.role", subject_id=str(role.pk), action="permission")
    assert created.after["permissions"] == ["members.add", "members.view"] and created.before is None
    # edit
    response = client.post(
        reverse("org:role_edit", args=[role.pk]),
        {"name": "储值专员", "description": "充值", "permissions": ["members.view", "members.export"]},
    )
    assert response.status_code == 302
    changed = AuditEntry.objects.filter(subject_id=str(role.pk), action="permission").latest("id")
    assert changed.before == {"permissions": ["members.add", "members.view"]}
    assert changed.after == {"permissions": ["members.export", "members.view"]}
    # delete
    assert client.get(reverse("org:role_delete", args=[role.pk])).status_code == 200
    assert client.post(reverse("org:role_delete", args=[role.pk])).status_code == 302
    assert not Role.objects.filter(pk=role.pk).exists()
    deleted = AuditEntry.objects.get(subject_id=str(role.pk), action="delete")
    assert deleted.before["name"] == "储值专员" and deleted.after is None


def test_role_held_by_staff_cannot_be_deleted(chain, login):
    from onecard.org import services

    role = services.create_role(None, merchant=chain.merchant, name="临时", permissions=["members.view"])
    chain.cashier_a1.roles.add(role)
    client = login(chain.hq_admin)
    response = client.post(reverse("org:role_delete", args=[role.pk]), follow=True)
    assert "Staff still hold this role" in response.content.decode()
    assert Role.objects.filter(pk=role.pk).exists()


def test_builtin_roles_cannot_be_changed(chain, login):
    cashier = chain.roles["cashier"]
    client = login(chain.hq_admin)
    page = client.get(reverse("org:role_edit", args=[cashier.pk])).content.decode()
    assert 'name="permissions"' not in page  # shown read-only
    response = client.post(
        reverse("org:role_edit", args=[cashier.pk]), {"name": "Cashier", "permissions": ["audit.view"]}
    )
    assert response.status_code == 200
    assert "Built-in roles cannot be changed" in response.content.decode()
    cashier.refresh_from_db()
    assert cashier.permissions == [
        "members.view",
        "members.add",
        "members.change",
        "cards.view",
        "cards.manage",
        "till.operate",
        "catalog.view",
    ]
    client.post(reverse("org:role_delete", args=[cashier.pk]))
    assert Role.objects.filter(pk=cashier.pk).exists()


def test_role_with_permissions_beyond_the_actor_is_refused(chain, login):
    # a custom role holder with roles.manage but without audit.view
    from onecard.org import services

    limited = services.create_role(
        None, merchant=chain.merchant, name="角色管理员", permissions=["roles.manage", "members.view"]
    )
    actor = services.create_staff(
        None, username="rolemgr", password="pass-word-123", node=chain.hq, roles=[limited]
    )
    response = login(actor).post(
        reverse("org:role_create"), {"name": "审计员", "permissions": ["audit.view"]}
    )
    assert response.status_code == 200
    assert re.search(
        r'data-field="permissions".*?You cannot grant permissions', response.content.decode(), re.S
    )
    assert not Role.objects.filter(name="审计员").exists()


def test_custom_role_of_another_merchant_is_not_found(chain, login):
    from onecard.org import services

    role = services.create_role(None, merchant=chain.other, name="别家角色", permissions=["members.view"])
    client = login(chain.hq_admin)
    assert client.get(reverse("org:role_edit", args=[role.pk])).status_code == 404
    assert client.post(reverse("org:role_delete", args=[role.pk])).status_code == 404
    assert Role.objects.filter(pk=role.pk).exists()


def test_system_admin_creates_a_role_for_a_chosen_merchant(chain, login):
    client = login(chain.admin)
    response = client.post(
        reverse("org:role_create"),
        {"name": "别家角色", "merchant": chain.other.pk, "permissions": ["members.view"]},
    )
    assert response.status_code == 302
    assert Role.objects.get(name="别家角色").merchant == chain.other


# ---- Django admin (superusers only) ----------------------------------------------------------------------


@pytest.fixture
def admin_client(chain, login):
    chain.admin.is_staff = True
    chain.admin.save(update_fields=["is_staff"])
    return login(chain.admin)


@pytest.mark.parametrize(
    "name",
    [
        "org_merchant",
        "org_alliance",
        "org_orgnode",
        "org_role",
        "org_staff",
        "members_tag",
        "members_customfield",
        "core_auditentry",
    ],
)
def test_admin_changelists_open_for_a_superuser(admin_client, name):
    assert admin_client.get(reverse(f"admin:{name}_changelist")).status_code == 200


def test_admin_node_change_is_audited_and_path_is_read_only(chain, admin_client):
    url = reverse("admin:org_orgnode_change", args=[chain.b1.pk])
    page = admin_client.get(url).content.decode()
    assert 'name="path"' not in page and 'name="name"' in page
    response = admin_client.post(url, {"name": "朝阳旗舰店", "address": "", "phone": "", "is_active": "on"})
    assert response.status_code == 302
    entry = AuditEntry.objects.get(subject_id=str(chain.b1.pk), action="update")
    assert entry.after == {"name": "朝阳旗舰店"} and entry.note == "admin" and entry.actor == chain.admin
    assert admin_client.get(reverse("admin:org_orgnode_add")).status_code == 403


def test_admin_cannot_change_builtin_roles(chain, admin_client):
    url = reverse("admin:org_role_change", args=[chain.roles["cashier"].pk])
    name = chain.roles["cashier"].name
    admin_client.post(url, {"name": "x", "permissions": '["audit.view"]'})
    chain.roles["cashier"].refresh_from_db()
    assert chain.roles["cashier"].name == name == "收银员"
    assert (
        admin_client.post(
            reverse("admin:org_role_delete", args=[chain.roles["cashier"].pk]), {"post": "yes"}
        ).status_code
        == 403
    )


def test_admin_creates_a_merchant_with_its_headquarters(admin_client):
    from onecard.org.models import Merchant

    response = admin_client.post(reverse("admin:org_merchant_add"), {"name": "New Co", "code": "newco"})
    assert response.status_code == 302
    merchant = Merchant.objects.get(code="newco")
    hq = merchant.nodes.get()
    assert hq.kind == "hq" and hq.path == f"/{hq.pk}/"
    assert AuditEntry.objects.filter(subject_type="org.merchant", subject_id=str(merchant.pk)).count() == 1
