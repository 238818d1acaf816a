"""The one permission check: every permission by default, any one of them when the call says so."""

import pytest
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.test import RequestFactory

from onecard.core.permissions import has_perms, permission_required, require_perms
from onecard.org.models import Staff

pytestmark = pytest.mark.django_db


def test_all_of_refuses_a_cashier_who_lacks_one_of_the_permissions(chain):
    # given a cashier, who may work the till but not manage products
    cashier = chain.cashier_a1
    # when both are required
    with pytest.raises(PermissionDenied) as refused:
        require_perms(cashier, "till.operate", "products.manage")
    # then the refusal names the missing permission
    assert str(refused.value) == "products.manage"
    assert has_perms(cashier, ("till.operate", "products.manage")) is False


def test_any_of_lets_the_cashier_through_with_one_of_the_permissions(chain):
    # given the same cashier and the same two permissions
    cashier = chain.cashier_a1
    # when any one of them is enough
    require_perms(cashier, "products.manage", "till.operate", any_of=True)
    # then nothing is raised and the check agrees
    assert has_perms(cashier, ("products.manage", "till.operate"), any_of=True) is True


def test_any_of_refuses_when_none_is_held_naming_the_first(chain):
    with pytest.raises(PermissionDenied) as refused:
        require_perms(chain.cashier_a1, "products.manage", "prepaid.manage", any_of=True)
    assert str(refused.value) == "products.manage"


def test_decorator_checks_all_of_and_any_of_before_the_view_runs(chain):
    # given a view that needs members.view and one of settlement.settle / till.operate
    calls = []

    @permission_required(all_of=("members.view",), any_of=("settlement.settle", "till.operate"))
    def view(request):
        calls.append(request.user)
        return HttpResponse("ok")

    request = RequestFactory().get("/")
    # when the cashier (members.view and till.operate) asks
    request.user = chain.cashier_a1
    assert view(request).status_code == 200
    # then a user without members.view is refused and the view never runs for them
    request.user = Staff.objects.create_user("nobody", password="pass-word-123")
    with pytest.raises(PermissionDenied):
        view(request)
    assert calls == [chain.cashier_a1]


def test_decorator_needs_something_to_check():
    with pytest.raises(ValueError):
        permission_required()
