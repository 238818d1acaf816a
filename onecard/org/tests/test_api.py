"""API v1 for the organisation: org nodes, staff and roles, with the UI's scope and permission rules."""

import pytest

from onecard.core.models import AuditEntry
from onecard.org.models import OrgNode, Role, Staff

pytestmark = pytest.mark.usefixtures("api_urls")  # served the API urlconf only


def _ids(body):
    rows = body["results"] if isinstance(body, dict) else body
    return {row["id"] for row in rows}


# ---- org nodes ----------------------------------------------------------------------------------------


def test_region_manager_lists_own_region_and_below(chain, api):
    body = api(chain.region_manager).get("/api/v1/org-nodes/").json()
    assert _ids(body) == {str(chain.east.pk), str(chain.a1.pk), str(chain.a2.pk)}
    first = body["results"][0]
    assert first["id"] == str(chain.east.pk)
    assert first["parent"] == str(chain.hq.pk)
    assert first["kind"] == "region"


def test_cashier_may_not_view_the_tree(chain, api):
    response = api(chain.cashier_a1).get("/api/v1/org-nodes/")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_region_manager_creates_a_store_in_own_region(chain, api):
    # when
    response = api(chain.region_manager).post(
        "/api/v1/org-nodes/",
        {"parent": str(chain.east.pk), "kind": "store", "name": "静安店", "code": "A3"},
        format="json",
    )
    # then
    assert response.status_code == 201
    node = OrgNode.objects.get(code="A3")
    assert node.parent == chain.east
    assert node.path == f"{chain.east.path}{node.pk}/"
    assert response.json()["id"] == str(node.pk)


def test_org_node_creation_outside_scope_is_refused(chain, api):
    # when
    response = api(chain.region_manager).post(
        "/api/v1/org-nodes/",
        {"parent": chain.north.pk, "kind": "store", "name": "海淀店", "code": "B2"},
        format="json",
    )
    # then
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert not OrgNode.objects.filter(code="B2").exists()


def test_org_node_under_another_merchant_is_unknown(chain, api):
    response = api(chain.hq_admin).post(
        "/api/v1/org-nodes/",
        {"parent": chain.other_hq.pk, "kind": "store", "name": "x", "code": "X1"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {"parent": ["Unknown org node."]}


def test_store_under_a_store_is_a_validation_error(chain, api):
    response = api(chain.hq_admin).post(
        "/api/v1/org-nodes/",
        {"parent": chain.a1.pk, "kind": "store", "name": "x", "code": "X1"},
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["kind"]


def test_patch_renames_a_node_in_scope_and_404_outside(chain, api):
    client = api(chain.region_manager)
    response = client.patch(f"/api/v1/org-nodes/{chain.a1.pk}/", {"name": "徐汇旗舰店"}, format="json")
    assert response.status_code == 200
    assert response.json()["name"] == "徐汇旗舰店"
    assert client.patch(f"/api/v1/org-nodes/{chain.b1.pk}/", {"name": "x"}, format="json").status_code == 404


# ---- staff --------------------------------------------------------------------------------------------


def test_staff_list_is_scoped(chain, api):
    body = api(chain.region_manager).get("/api/v1/staff/").json()
    usernames = {row["username"] for row in body["results"]}
    assert usernames == {"eastmgr", "a1mgr", "a1cash", "sales"}


def test_region_manager_creates_a_cashier(chain, api):
    # when
    response = api(chain.region_manager).post(
        "/api/v1/staff/",
        {
            "username": "a2cash",
            "password": "long-enough-pw-9",
            "node": str(chain.a2.pk),
            "roles": [str(chain.roles["cashier"].pk)],
            "phone": "13812345678",
        },
        format="json",
    )
    # then
    assert response.status_code == 201
    body = response.json()
    assert body["node"] == str(chain.a2.pk)
    assert body["permissions"] == [
        "cards.manage",
        "cards.view",
        "catalog.view",
        "members.add",
        "members.change",
        "members.view",
        "till.operate",
    ]
    assert body["phone_masked"] == "138****5678"
    assert "password" not in body
    assert Staff.objects.get(username="a2cash").check_password("long-enough-pw-9")


def test_staff_creation_cannot_exceed_own_permissions(chain, api):
    # when: the region manager (no roles.manage) hands out the HQ administrator role
    response = api(chain.region_manager).post(
        "/api/v1/staff/",
        {
            "username": "sneaky",
            "password": "long-enough-pw-9",
            "node": chain.a2.pk,
            "roles": [chain.roles["hq_admin"].pk],
        },
        format="json",
    )
    # then
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert response.json()["detail"] == "You cannot grant permissions you do not hold yourself."
    assert not Staff.objects.filter(username="sneaky").exists()


def test_role_change_cannot_exceed_own_permissions(chain, api):
    response = api(chain.region_manager).patch(
        f"/api/v1/staff/{chain.cashier_a1.pk}/", {"roles": [chain.roles["hq_admin"].pk]}, format="json"
    )
    assert response.status_code == 403
    assert list(chain.cashier_a1.roles.values_list("code", flat=True)) == ["cashier"]


def test_set_roles_of_staff(chain, api):
    # when
    response = api(chain.region_manager).patch(
        f"/api/v1/staff/{chain.cashier_a1.pk}/",
        {"roles": [chain.roles["store_manager"].pk], "display_name": "小王"},
        format="json",
    )
    # then
    assert response.status_code == 200
    assert [r["name"] for r in response.json()["roles"]] == [str(chain.roles["store_manager"])]
    assert "members.reveal_pii" in response.json()["permissions"]
    assert response.json()["display_name"] == "小王"
    assert AuditEntry.objects.filter(action="permission", subject_id=str(chain.cashier_a1.pk)).exists()


def test_staff_outside_scope_is_404_and_staff_view_is_needed(chain, api):
    assert api(chain.region_manager).get(f"/api/v1/staff/{chain.cashier_b1.pk}/").status_code == 404
    assert api(chain.cashier_a1).get("/api/v1/staff/").status_code == 403
    assert api(chain.store_manager).post("/api/v1/staff/", {}, format="json").status_code == 403


def test_weak_password_is_a_validation_error(chain, api):
    response = api(chain.region_manager).post(
        "/api/v1/staff/",
        {"username": "weak", "password": "12345678", "node": chain.a2.pk, "roles": []},
        format="json",
    )
    assert response.status_code == 400
    assert "password" in response.json()["errors"]


# ---- roles --------------------------------------------------------------------------------------------


def test_role_crud(chain, api):
    # given
    admin = api(chain.hq_admin)
    # when: create
    created = admin.post(
        "/api/v1/roles/",
        {"name": "前台", "permissions": ["members.view", "members.add"], "description": "front desk"},
        format="json",
    )
    # then
    assert created.status_code == 201
    role_id = created.json()["id"]
    role = Role.objects.get(pk=role_id)
    assert role.merchant == chain.merchant
    assert role.permissions == ["members.add", "members.view"]
    # listed with the built-in ones, not visible to another merchant
    listed = admin.get("/api/v1/roles/").json()["results"]
    assert role_id in {r["id"] for r in listed}
    assert sum(r["is_builtin"] for r in listed) == len(chain.roles)
    assert role_id not in {r["id"] for r in api(chain.other_manager).get("/api/v1/roles/").json()["results"]}
    # patch
    patched = admin.patch(f"/api/v1/roles/{role_id}/", {"permissions": ["members.view"]}, format="json")
    assert patched.json()["permissions"] == ["members.view"]
    # delete
    assert admin.delete(f"/api/v1/roles/{role_id}/").status_code == 204
    assert not Role.objects.filter(pk=role_id).exists()


def test_builtin_roles_cannot_be_changed_or_deleted(chain, api):
    admin = api(chain.hq_admin)
    cashier = chain.roles["cashier"]
    response = admin.patch(f"/api/v1/roles/{cashier.pk}/", {"name": "x"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "builtin_role"
    assert admin.delete(f"/api/v1/roles/{cashier.pk}/").json()["code"] == "builtin_role"


def test_role_in_use_cannot_be_deleted(chain, api):
    admin = api(chain.hq_admin)
    role_id = admin.post("/api/v1/roles/", {"name": "r", "permissions": []}, format="json").json()["id"]
    chain.cashier_a1.roles.add(role_id)
    response = admin.delete(f"/api/v1/roles/{role_id}/")
    assert response.status_code == 400
    assert response.json()["code"] == "role_in_use"


def test_roles_manage_is_needed_and_unknown_permissions_are_refused(chain, api):
    assert (
        api(chain.region_manager).post("/api/v1/roles/", {"name": "r", "permissions": []}, format="json")
    ).status_code == 403
    response = api(chain.hq_admin).post(
        "/api/v1/roles/", {"name": "r", "permissions": ["members.fly"]}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {"permissions": ["Unknown permission: members.fly"]}


def test_permission_catalogue(chain, api):
    body = api(chain.region_manager).get("/api/v1/roles/permissions/").json()
    assert {"code": "members.view", "label": "View members"} in body
