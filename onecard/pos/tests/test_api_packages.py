"""Count and period cards on the POS API: list, sell, use, refund; signed, idempotent, refusals by code."""

import pytest

from onecard.loyalty.cards import services as cards
from onecard.loyalty.models import JournalEntry, MemberPackage, PackageUse
from onecard.loyalty.packages import services as packages
from onecard.testing.packages import gym_package, package_balance, wash_package
from onecard.testing.pos import idempotency_key, send_keyed
from onecard.testing.stored_value import assert_ledger_clean

pytestmark = pytest.mark.usefixtures("api_urls")  # served the API urlconf only

BASE = "/api/v1/pos"


def test_sell_use_refund_happy_path(chain, terminal, pos, card):
    # given a package on sale
    package = wash_package(chain, uses=3, price=10_000)
    catalog = pos.get(terminal, f"{BASE}/packages/catalog")
    assert catalog.status_code == 200, catalog.content
    assert [item["id"] for item in catalog.json()["results"]] == [str(package.pk)]
    # when the terminal sells it
    response = send_keyed(pos, terminal, f"{BASE}/packages/sell",
                     {"card_no": card.number, "package_id": package.pk, "tender": "wechat"}, idempotency_key())  # fmt: skip
    assert response.status_code == 200, response.content
    body = response.json()
    package_id = body["package"]["id"]
    assert body["package"]["price"] == 10_000 and body["package"]["outstanding"] == 10_000
    assert body["package"]["lines"] == [{"service": "洗车", "uses_total": 3, "uses_left": 3}]
    assert JournalEntry.objects.get(pk=body["entry_id"]).kind == "package_sale"
    # and uses it twice at once
    response = send_keyed(
        pos, terminal, f"{BASE}/packages/{package_id}/use", {"service": "洗车", "count": 2}, idempotency_key()
    )
    assert response.status_code == 200, response.content
    assert response.json()["use"]["value"] == 6_666
    assert response.json()["package"]["lines"][0]["uses_left"] == 1
    # and lists the card's packages
    listing = pos.get(terminal, f"{BASE}/cards/{card.number}/packages")
    assert listing.status_code == 200, listing.content
    assert [(p["id"], p["uses_done"]) for p in listing.json()["results"]] == [(package_id, 2)]
    # and refunds the rest in cash
    response = send_keyed(pos, terminal, f"{BASE}/packages/{package_id}/refund", {"reason": "moving", "method": "cash"},
                     idempotency_key())  # fmt: skip
    assert response.status_code == 200, response.content
    assert response.json()["package"]["refunded"] == 3_334
    assert response.json()["package"]["status"] == "refunded"
    # then closed packages show only with ?all=1
    assert pos.get(terminal, f"{BASE}/cards/{card.number}/packages").json()["results"] == []
    assert len(pos.get(terminal, f"{BASE}/cards/{card.number}/packages?all=1").json()["results"]) == 1
    assert package_balance(card) == 0
    assert_ledger_clean()


def test_a_replayed_use_takes_effect_once_and_answers_the_same(chain, terminal, pos, sold_package):
    key = idempotency_key()
    first = send_keyed(pos, terminal, f"{BASE}/packages/{sold_package.pk}/use", {"service": "洗车"}, key)
    again = send_keyed(pos, terminal, f"{BASE}/packages/{sold_package.pk}/use", {"service": "洗车"}, key)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert again["Idempotent-Replayed"] == "true"
    assert PackageUse.objects.filter(member_package=sold_package).count() == 1
    other = send_keyed(
        pos, terminal, f"{BASE}/packages/{sold_package.pk}/use", {"service": "洗车", "count": 2}, key
    )
    assert other.status_code == 409 and other.json()["code"] == "idempotency_conflict"
    assert PackageUse.objects.filter(member_package=sold_package).count() == 1


def test_a_replayed_sale_sells_once(chain, terminal, pos, card):
    package = wash_package(chain)
    key = idempotency_key()
    payload = {"card_no": card.number, "package_id": package.pk}
    responses = [send_keyed(pos, terminal, f"{BASE}/packages/sell", payload, key) for _ in range(3)]
    assert {r.status_code for r in responses} == {200}
    assert MemberPackage.objects.count() == 1 and package_balance(card) == 30_000


def test_refusals_carry_their_codes_and_change_nothing(chain, terminal, pos, card, sold_package):
    # no key
    response = send_keyed(pos, terminal, f"{BASE}/packages/{sold_package.pk}/use", {"service": "洗车"})
    assert (response.status_code, response.json()["code"]) == (400, "idempotency_key_required")
    # unknown package, unknown service, bad count
    response = send_keyed(
        pos, terminal, f"{BASE}/packages/999999/use", {"service": "洗车"}, idempotency_key()
    )
    assert (response.status_code, response.json()["code"]) == (404, "package_not_found")
    response = send_keyed(
        pos, terminal, f"{BASE}/packages/{sold_package.pk}/use", {"service": "打蜡"}, idempotency_key()
    )
    assert (response.status_code, response.json()["code"]) == (422, "package_service_unknown")
    assert response["Content-Type"].startswith("application/problem+json")
    response = send_keyed(
        pos,
        terminal,
        f"{BASE}/packages/{sold_package.pk}/use",
        {"service": "洗车", "count": 0},
        idempotency_key(),
    )
    assert (response.status_code, response.json()["code"]) == (400, "validation_error")
    # too many uses
    response = send_keyed(
        pos,
        terminal,
        f"{BASE}/packages/{sold_package.pk}/use",
        {"service": "洗车", "count": 4},
        idempotency_key(),
    )
    assert (response.status_code, response.json()["code"]) == (422, "package_used_up")
    # cash refund above ¥100
    big = packages.sell_package(None, card, gym_package(chain), store=chain.a1)
    response = send_keyed(
        pos,
        terminal,
        f"{BASE}/packages/{big.pk}/refund",
        {"reason": "x", "method": "cash"},
        idempotency_key(),
    )
    assert (response.status_code, response.json()["code"]) == (422, "cash_refund_too_large")
    # a frozen card
    cards.freeze(None, card)
    response = send_keyed(
        pos, terminal, f"{BASE}/packages/{sold_package.pk}/use", {"service": "洗车"}, idempotency_key()
    )
    assert (response.status_code, response.json()["code"]) == (422, "card_frozen")
    assert PackageUse.objects.count() == 0
    assert package_balance(card) == 10_000 + 90_000


def test_packages_of_another_merchant_are_not_found(chain, terminal, pos, card, member_factory):
    from onecard.loyalty.cards.products import create_product
    from onecard.testing.cards import active_card, stock

    other_member = member_factory(store=chain.other_store)
    product = create_product(None, chain.other, name="other card", kind="stored_value")
    other_card = active_card(stock(product, chain.other_store, count=1, prefix="7700")[0], other_member)
    other_package = packages.create_package(
        None, chain.other, name="their wash", kind="count", price=1_000, lines=[("洗车", 1)]
    )
    theirs = packages.sell_package(None, other_card, other_package, store=chain.other_store)
    response = send_keyed(
        pos, terminal, f"{BASE}/packages/{theirs.pk}/use", {"service": "洗车"}, idempotency_key()
    )
    assert (response.status_code, response.json()["code"]) == (404, "package_not_found")
    response = pos.get(terminal, f"{BASE}/cards/{other_card.number}/packages")
    assert (response.status_code, response.json()["code"]) == (404, "card_not_found")


def test_unsigned_requests_are_refused(client, sold_package):
    response = client.get(f"{BASE}/cards/{sold_package.card.number}/packages")
    assert response.status_code == 401
