"""The till's packages panel, the package definitions page and the member 360 "Packages" section."""

import uuid

import pytest
from django.urls import reverse

from onecard.loyalty.models import MemberPackage, PackageUse, ServicePackage
from onecard.loyalty.packages import services as packages
from onecard.loyalty.packages.choices import MemberPackageStatus
from onecard.loyalty.packages.views import MEMBER_SECTION, register_member_section
from onecard.testing.packages import gym_package, package_balance, wash_package
from onecard.testing.stored_value import assert_ledger_clean, sv_card

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_ACCEPT_LANGUAGE": "en"}


def token():
    return uuid.uuid4().hex


def post(client, name, **data):
    data.setdefault("token", token())
    return client.post(reverse(f"till:{name}"), data, **HTMX)


# ---- the till panel -----------------------------------------------------------------------------------


def test_panel_lists_packages_with_uses_left_and_the_catalog(chain, login, card, sold_package):
    gym_package(chain)
    client = login(chain.cashier_a1)
    response = client.get(reverse("till:packages_panel"), {"card": card.number}, **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert "洗车10次" in body and 'class="uses-left">3</strong>/3' in body
    assert "健身月卡 · ¥900.00" in body  # on sale here
    assert "¥100.00" in body  # unused value


def test_sell_then_use_through_the_panel(chain, login, card):
    package = wash_package(chain, uses=2, price=8_000)
    client = login(chain.cashier_a1)
    # when the cashier sells the package for WeChat Pay
    response = post(client, "package_sell", card=card.number, package=package.pk, tender="wechat")
    assert response.status_code == 200
    assert "Sold 洗车10次 for ¥80.00." in response.content.decode()
    mp = MemberPackage.objects.get(card=card)
    assert mp.tender == "wechat" and mp.actor == chain.cashier_a1 and package_balance(card) == 8_000
    # and uses it once
    response = post(client, "package_use", card=card.number, package=mp.pk, service="洗车", count=1)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Used: 洗车 × 1." in body and 'class="uses-left">1</strong>/2' in body
    assert package_balance(card) == 4_000
    assert_ledger_clean()


def test_a_double_submitted_use_takes_effect_once(chain, login, card, sold_package):
    client = login(chain.cashier_a1)
    once = token()
    for _ in range(2):
        response = post(
            client,
            "package_use",
            card=card.number,
            package=sold_package.pk,
            service="洗车",
            count=1,
            token=once,
        )
        assert response.status_code == 200
    assert PackageUse.objects.filter(member_package=sold_package).count() == 1


def test_refusals_show_in_the_panel_and_write_nothing(chain, login, card, sold_package):
    client = login(chain.cashier_a1)
    response = post(client, "package_use", card=card.number, package=sold_package.pk, service="洗车", count=4)
    assert response.status_code == 200  # htmx swaps 2xx only
    assert "No uses are left of this service in the package." in response.content.decode()
    plain = client.post(
        reverse("till:package_use"),
        {"card": card.number, "package": sold_package.pk, "service": "打蜡", "count": 1, "token": token()},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert plain.status_code == 400
    assert "This package does not include that service." in plain.content.decode()
    assert PackageUse.objects.count() == 0


def test_refund_above_the_limit_needs_a_manager(chain, login, card):
    big = packages.sell_package(None, card, gym_package(chain), store=chain.a1)  # ¥900 > ¥500
    cashier = login(chain.cashier_a1)
    response = post(
        cashier, "package_refund", card=card.number, package=big.pk, method="bank", reason="moving"
    )
    assert "Refunds above ¥500.00 need a store manager." in response.content.decode()
    big.refresh_from_db()
    assert big.status == MemberPackageStatus.ACTIVE
    manager = login(chain.store_manager)
    response = post(
        manager, "package_refund", card=card.number, package=big.pk, method="bank", reason="moving"
    )
    assert "Refunded ¥900.00." in response.content.decode()
    big.refresh_from_db()
    assert (big.status, big.refunded) == (MemberPackageStatus.REFUNDED, 90_000)
    assert_ledger_clean()


def test_cashier_refunds_a_small_package(chain, login, card, sold_package):
    client = login(chain.cashier_a1)
    response = post(
        client, "package_refund", card=card.number, package=sold_package.pk, method="cash", reason="不想要了"
    )
    assert "Refunded ¥100.00." in response.content.decode()


def test_till_needs_its_permission_and_packages_of_other_cards_are_not_found(chain, login, card, sold_package,
                                                                               member_factory):  # fmt: skip
    response = login(chain.marketer).get(reverse("till:packages_panel"), {"card": card.number})
    assert response.status_code == 403
    other = sv_card(chain, member_factory())
    client = login(chain.cashier_a1)
    response = post(
        client, "package_use", card=other.number, package=sold_package.pk, service="洗车", count=1
    )
    assert "No package has this id." in response.content.decode()
    assert PackageUse.objects.count() == 0


# ---- definitions --------------------------------------------------------------------------------------


def test_hq_admin_creates_edits_and_takes_a_package_off_sale(chain, login):
    client = login(chain.hq_admin)
    response = client.post(
        reverse("packages:package_definition_new"),
        {
            "name": "洗车卡",
            "kind": "count",
            "price": "300.00",
            "lines": "洗车 × 10\n打蜡,2",
            "validity_days": "365",
            "stores": [chain.a1.pk],
        },  # fmt: skip
    )
    assert response.status_code == 302
    package = ServicePackage.objects.get(name="洗车卡")
    assert package.price == 30_000 and package.validity_days == 365
    assert [(line.service, line.uses) for line in package.lines.all()] == [("洗车", 10), ("打蜡", 2)]
    assert list(package.stores.all()) == [chain.a1]
    listing = client.get(reverse("packages:package_definitions"))
    assert listing.status_code == 200 and "洗车 × 10" in listing.content.decode()
    edit = reverse("packages:package_definition_edit", args=[package.pk])
    assert "洗车 × 10" in client.get(edit).content.decode()
    response = client.post(edit, {"name": "洗车卡", "kind": "count", "price": "280.00", "lines": "洗车 × 12"})
    assert response.status_code == 302
    package.refresh_from_db()
    assert package.price == 28_000 and package.lines.get().uses == 12 and not package.stores.exists()
    client.post(reverse("packages:package_definition_deactivate", args=[package.pk]))
    package.refresh_from_db()
    assert package.is_active is False


def test_definition_form_errors_and_permissions(chain, login):
    client = login(chain.hq_admin)
    response = client.post(
        reverse("packages:package_definition_new"),
        {"name": "月卡", "kind": "period", "price": "99.00", "lines": "健身"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert "A period card needs its number of days." in response.content.decode()
    assert not ServicePackage.objects.exists()
    assert login(chain.cashier_a1).get(reverse("packages:package_definitions")).status_code == 403


# ---- member 360 ---------------------------------------------------------------------------------------


def test_member_page_lists_packages_and_each_use(chain, login, card, sold_package):
    register_member_section()
    packages.use_package(chain.cashier_a1, sold_package, "洗车", store=chain.a2)
    response = login(chain.hq_admin).get(reverse("members:detail", args=[card.member.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="section-packages"' in body and 'id="member-packages"' in body
    assert "洗车 2/3" in body
    assert "浦东店 · 洗车 × 1 · ¥33.33" in body
    register_member_section()  # once only
    from onecard.members.views import MEMBER_SECTIONS

    assert [s["key"] for s in MEMBER_SECTIONS].count(MEMBER_SECTION["key"]) == 1
