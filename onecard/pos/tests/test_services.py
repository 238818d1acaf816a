"""Terminal management services: numbering, scope, audit rows (without the secret)."""

import pytest

from onecard.core.errors import BusinessError, PermissionDenied, ValidationFailed
from onecard.core.models import AuditEntry
from onecard.pos import services
from onecard.pos.models import Terminal


def _audit(terminal):
    return list(
        AuditEntry.objects.filter(subject_type="pos.terminal", subject_id=str(terminal.pk)).order_by("id")
    )


def test_register_gives_a_numbered_id_a_secret_and_an_audit_row(chain):
    # when
    first = services.register_terminal(chain.store_manager, store=chain.a1, name="Till 1")
    second = services.register_terminal(chain.store_manager, store=chain.a1, name="Desk", kind="pc_desk")
    # then
    assert first.terminal.terminal_id == "T-A1-0001"
    assert second.terminal.terminal_id == "T-A1-0002"
    assert len(first.secret) >= 43 and first.secret != second.secret
    assert Terminal.objects.get(pk=first.terminal.pk).secret == first.secret
    [row] = _audit(first.terminal)
    assert row.action == "create"
    assert row.actor == chain.store_manager
    assert row.node == chain.a1 and row.merchant == chain.merchant
    assert row.after["terminal_id"] == "T-A1-0001"
    assert first.secret not in str(row.after) and "secret" not in row.after


def test_a_store_code_used_by_two_merchants_still_gives_unique_ids(chain):
    from onecard.org import services as org_services

    twin = org_services.create_node(None, parent=chain.other_hq, kind="store", name="其他A1", code="A1")
    services.register_terminal(chain.store_manager, store=chain.a1, name="Till 1")
    # when
    other = services.register_terminal(None, store=twin, name="Till 1")
    # then
    assert other.terminal.terminal_id == "T-A1-0002"


def test_rotate_replaces_the_secret_and_is_audited_without_it(chain, terminal):
    # when
    rotated = services.rotate_secret(chain.store_manager, terminal.terminal)
    # then
    assert rotated.secret != terminal.secret
    assert Terminal.objects.get(pk=terminal.terminal.pk).secret == rotated.secret
    row = _audit(terminal.terminal)[-1]
    assert row.action == "update" and row.note == "secret rotated"
    assert rotated.secret not in str(row.after) and terminal.secret not in str(row.after)


def test_deactivate_is_audited_once(chain, terminal):
    # when
    services.deactivate_terminal(chain.region_manager, terminal.terminal)
    services.deactivate_terminal(chain.region_manager, terminal.terminal)
    # then
    assert not Terminal.objects.get(pk=terminal.terminal.pk).is_active
    rows = _audit(terminal.terminal)
    assert [r.action for r in rows] == ["create", "update"]
    assert rows[-1].before == {"is_active": True} and rows[-1].after == {"is_active": False}
    assert rows[-1].actor == chain.region_manager


def test_a_deactivated_terminal_gets_no_new_secret(chain, terminal):
    services.deactivate_terminal(chain.store_manager, terminal.terminal)
    with pytest.raises(BusinessError) as exc:
        services.rotate_secret(chain.store_manager, terminal.terminal)
    assert exc.value.code == "terminal_inactive"


def test_a_store_manager_cannot_manage_another_stores_terminals(chain):
    # given a terminal of B1
    b1 = services.register_terminal(chain.hq_admin, store=chain.b1, name="Till B")
    # when / then
    with pytest.raises(PermissionDenied):
        services.register_terminal(chain.store_manager, store=chain.b1, name="Sneaky")
    with pytest.raises(PermissionDenied):
        services.rotate_secret(chain.store_manager, b1.terminal)
    with pytest.raises(PermissionDenied):
        services.deactivate_terminal(chain.store_manager, b1.terminal)
    assert Terminal.objects.get(pk=b1.terminal.pk).secret == b1.secret
    assert Terminal.objects.count() == 1


def test_terminals_belong_to_stores_only(chain):
    with pytest.raises(ValidationFailed) as exc:
        services.register_terminal(chain.region_manager, store=chain.east, name="Region till")
    assert "store" in exc.value.errors


def test_scoped_terminals_follow_the_org_tree(chain):
    a1 = services.register_terminal(chain.hq_admin, store=chain.a1, name="A1").terminal
    a2 = services.register_terminal(chain.hq_admin, store=chain.a2, name="A2").terminal
    b1 = services.register_terminal(chain.hq_admin, store=chain.b1, name="B1").terminal
    assert set(services.scoped_terminals(chain.store_manager)) == {a1}
    assert set(services.scoped_terminals(chain.region_manager)) == {a1, a2}
    assert set(services.scoped_terminals(chain.hq_admin)) == {a1, a2, b1}
    assert set(services.scoped_terminals(chain.other_manager)) == set()


def test_builtin_roles_hold_terminals_manage(chain):
    assert chain.hq_admin.has_perm("terminals.manage")
    assert chain.region_manager.has_perm("terminals.manage")
    assert chain.store_manager.has_perm("terminals.manage")
    assert not chain.cashier_a1.has_perm("terminals.manage")
