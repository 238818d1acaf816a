"""Org services: every write is audited, and nobody hands out more than they hold."""

import pytest

from onecard.core.errors import BusinessError, PermissionDenied, ValidationFailed
from onecard.core.models import AuditEntry
from onecard.org import services
from onecard.org.choices import NodeKind
from onecard.org.models import OrgNode, Role, Staff

pytestmark = pytest.mark.django_db


def test_create_node_sets_path_and_audits(chain):
    node = services.create_node(
        chain.hq_admin, parent=chain.east, kind=NodeKind.STORE, name="苏州店", code="A3"
    )
    assert node.path == f"/{chain.hq.pk}/{chain.east.pk}/{node.pk}/" and node.depth == 2
    entry = AuditEntry.objects.get(subject_type="org.orgnode", subject_id=str(node.pk))
    assert (entry.action, entry.actor, entry.node, entry.merchant) == (
        "create",
        chain.hq_admin,
        node,
        chain.merchant,
    )


def test_regions_nest_but_nothing_goes_below_a_store(chain):
    sub = services.create_node(None, parent=chain.east, kind=NodeKind.REGION, name="上海片区", code="E-SH")
    assert sub.depth == 2
    with pytest.raises(ValidationFailed) as exc:
        services.create_node(None, parent=chain.a1, kind=NodeKind.STORE, name="x", code="X1")
    assert "kind" in exc.value.errors


def test_create_node_outside_scope_is_refused(chain):
    with pytest.raises(PermissionDenied):
        services.create_node(
            chain.region_manager, parent=chain.north, kind=NodeKind.STORE, name="x", code="X"
        )
    assert not OrgNode.objects.filter(code="X").exists()


def test_update_node_audits_only_changed_fields(chain):
    services.update_node(chain.hq_admin, chain.b1, phone="010-888")
    entry = AuditEntry.objects.get(subject_id=str(chain.b1.pk), action="update")
    assert entry.before == {"phone": ""} and entry.after == {"phone": "010-888"}
    services.update_node(chain.hq_admin, chain.b1, phone="010-888")  # no change, no row
    assert AuditEntry.objects.filter(subject_id=str(chain.b1.pk), action="update").count() == 1


def test_create_staff_with_excess_permissions_saves_nothing(chain):
    before = AuditEntry.objects.count()
    with pytest.raises(PermissionDenied):
        services.create_staff(
            chain.region_manager,
            username="x1",
            password="Long-pass-987",
            node=chain.a1,
            roles=[chain.roles["hq_admin"]],
        )
    assert not Staff.objects.filter(username="x1").exists()
    assert AuditEntry.objects.count() == before


def test_update_staff_cannot_add_roles_beyond_the_actor(chain):
    with pytest.raises(PermissionDenied):
        services.update_staff(chain.region_manager, chain.cashier_a1, roles=[chain.roles["hq_admin"]])
    assert [r.code for r in chain.cashier_a1.roles.all()] == ["cashier"]


def test_role_lifecycle_is_audited_with_before_and_after(chain):
    role = services.create_role(
        chain.hq_admin, merchant=chain.merchant, name="储值", permissions=["members.view"]
    )
    services.update_role(chain.hq_admin, role, permissions=["members.view", "members.add"])
    role_id = role.pk
    services.delete_role(chain.hq_admin, role)
    rows = list(AuditEntry.objects.filter(subject_type="org.role", subject_id=str(role_id)).order_by("id"))
    assert [r.action for r in rows] == ["permission", "permission", "delete"]
    assert rows[0].after["permissions"] == ["members.view"]
    assert rows[1].before == {"permissions": ["members.view"]}
    assert rows[1].after == {"permissions": ["members.add", "members.view"]}
    assert rows[2].before["name"] == "储值"
    assert all(r.merchant == chain.merchant and r.node is None for r in rows)


def test_builtin_roles_cannot_be_changed_or_deleted(chain):
    with pytest.raises(BusinessError) as exc:
        services.update_role(chain.admin, chain.roles["cashier"], permissions=["audit.view"])
    assert exc.value.code == "builtin_role"
    with pytest.raises(BusinessError):
        services.delete_role(chain.admin, chain.roles["cashier"])
    assert Role.objects.get(pk=chain.roles["cashier"].pk).permissions == [
        "members.view",
        "members.add",
        "members.change",
        "cards.view",
        "cards.manage",
        "till.operate",
        "catalog.view",
    ]


def test_set_password_is_audited_without_the_password(chain):
    services.set_staff_password(chain.hq_admin, chain.cashier_b1, "Another-pass-321")
    entry = AuditEntry.objects.filter(subject_id=str(chain.cashier_b1.pk)).latest("id")
    assert entry.after == {"password": "changed"} and entry.node == chain.b1
