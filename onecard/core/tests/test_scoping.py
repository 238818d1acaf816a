"""Data scope: a node and everything below it; a system administrator without a node sees all."""

import pytest

from onecard.core.errors import PermissionDenied
from onecard.core.queries import visible_audit_entries
from onecard.core.scoping import node_in_scope, require_node_in_scope, scope, scope_node_ids
from onecard.org.models import OrgNode, Staff

pytestmark = pytest.mark.django_db


def test_region_manager_scope_is_the_region_and_its_stores(chain):
    assert set(scope_node_ids(chain.region_manager)) == {chain.east.pk, chain.a1.pk, chain.a2.pk}


def test_store_staff_scope_is_their_store(chain):
    assert scope_node_ids(chain.cashier_a1) == [chain.a1.pk]
    assert scope_node_ids(chain.store_manager) == [chain.a1.pk]


def test_hq_scope_is_the_whole_merchant_and_nothing_else(chain):
    ids = set(scope_node_ids(chain.hq_admin))
    assert ids == set(OrgNode.objects.filter(merchant=chain.merchant).values_list("id", flat=True))
    assert chain.other_store.pk not in ids


def test_system_admin_without_node_sees_everything(chain):
    assert scope_node_ids(chain.admin) is None
    assert scope(OrgNode.objects.all(), chain.admin, "pk").count() == OrgNode.objects.count()


def test_staff_without_node_sees_nothing(chain):
    loose = Staff.objects.create_user("loose", password="pass-word-123")
    assert scope_node_ids(loose) == []
    assert scope(Staff.objects.all(), loose, "node").count() == 0


def test_scope_filters_by_the_given_node_field(chain):
    staff = scope(Staff.objects.all(), chain.region_manager, "node")
    assert set(staff.values_list("username", flat=True)) == {"eastmgr", "a1mgr", "a1cash", "sales"}


def test_node_in_scope_and_require(chain):
    assert node_in_scope(chain.store_manager, chain.a1) is True
    assert node_in_scope(chain.store_manager, chain.b1) is False
    assert node_in_scope(chain.store_manager, None) is False
    with pytest.raises(PermissionDenied):
        require_node_in_scope(chain.store_manager, chain.b1)


def test_audit_rows_without_node_are_visible_to_hq_only(chain):
    from onecard.org import services

    role = services.create_role(None, merchant=chain.merchant, name="r", permissions=[])
    row = visible_audit_entries(chain.admin).get(subject_type="org.role", subject_id=str(role.pk))
    assert visible_audit_entries(chain.hq_admin).filter(pk=row.pk).exists()
    assert not visible_audit_entries(chain.region_manager).filter(pk=row.pk).exists()
    assert not visible_audit_entries(chain.other_manager).filter(pk=row.pk).exists()
