"""Sales and returns on the POS API: read a sale, partial and whole returns, refusals; one coupon at two tills."""

import threading

import pytest
from django.db import connection

from onecard.pos import services
from onecard.promotions.coupon_choices import CouponStatus
from onecard.promotions.models import Coupon, PromotionUse
from onecard.sales.models import Sale, SaleTender
from onecard.testing.cards import reload
from onecard.testing.checkout import ITEMS, POS_API, api_order, problem_code
from onecard.testing.points import assert_books, points_balance
from onecard.testing.pos import idempotency_key, send_keyed
from onecard.testing.stored_value import assert_ledger_clean, balances

pytestmark = pytest.mark.usefixtures("api_urls", "tea_promotion")  # the API urlconf only


# ---- sales and returns -----------------------------------------------------------------------------------


def test_get_sale_then_partial_and_whole_return(chain, terminal, pos, shop):
    # given a ¥109 sale (¥60 SV + 1000 points + ¥39 cash) with the voucher
    made = send_keyed(pos, terminal, f"{POS_API}/checkout", api_order(shop), idempotency_key())
    ref = made.json()["sale"]["business_ref"]
    # when the terminal reads it
    read = pos.get(terminal, f"{POS_API}/sales/{ref}")
    # then the same sale
    assert read.status_code == 200, read.content
    assert read.json() == made.json()["sale"]
    cake = next(line for line in read.json()["lines"] if line["sku"] == "CAKE-1")

    # when two of the four cakes come back
    key = idempotency_key()
    path = f"{POS_API}/sales/{ref}/returns"
    first = send_keyed(pos, terminal, path, {"lines": {cake["id"]: 2}, "reason": "broken"}, key)
    # then 201: half the cakes' due is spread over the tenders in proportion
    assert first.status_code == 201, first.content
    back = first.json()
    assert back["amount"] == cake["due"] // 2
    assert [t["kind"] for t in back["tenders"]] == ["stored_value", "points", "cash"]
    assert sum(t["amount"] for t in back["tenders"]) == back["amount"]
    assert back["lines"] == [{"line": cake["id"], "quantity": 2, "due": cake["due"] // 2}]
    assert back["sale"] == {"business_ref": ref, "total_due": 10900, "returned_due": back["amount"]}
    sv_back = back["tenders"][0]["amount"]
    points_back = back["tenders"][1]["points"]
    assert points_back == back["points_given_back"] == back["tenders"][1]["amount"]  # 1 point = 1 fen here
    # and earned points are taken back in proportion: floor(89 × amount / 10900)
    assert back["points_taken_back"] == 89 * back["amount"] // 10900
    principal, bonus, _held = balances(reload(shop.card))
    assert principal + bonus == 6000 + sv_back
    assert (
        back["balances"]["points"]
        == 89 - back["points_taken_back"] + points_back
        == points_balance(shop.card)
    )
    # and the voucher stays used (only a whole return gives it back)
    assert Coupon.objects.get(pk=shop.coupon.pk).status == CouponStatus.REDEEMED
    assert_books(shop.card)
    # a retry of the return gives the same answer and returns nothing more
    again = send_keyed(pos, terminal, path, {"lines": {cake["id"]: 2}, "reason": "broken"}, key)
    assert (again.status_code, again.json()) == (201, back)
    assert Sale.objects.get(business_ref=ref).returns.count() == 1

    # when the rest comes back
    rest = send_keyed(pos, terminal, path, {"reason": "changed mind"}, idempotency_key())
    # then every tender has given back exactly what it paid and the card is as before the sale
    assert rest.status_code == 201, rest.content
    assert rest.json()["amount"] == 10900 - back["amount"]
    assert [t.returned_amount for t in SaleTender.objects.filter(sale__business_ref=ref).order_by("pk")] == [
        6000,
        1000,
        3900,
    ]
    assert rest.json()["balances"] == {"principal": 10000, "bonus": 2000, "held": 0, "points": 1000}
    assert Coupon.objects.get(pk=shop.coupon.pk).status == CouponStatus.ISSUED
    assert PromotionUse.objects.get(promotion=shop.promotion).released_at is not None
    assert_books(shop.card)
    assert_ledger_clean()
    # and the sale shows both returns
    shown = pos.get(terminal, f"{POS_API}/sales/{ref}").json()
    assert [r["amount"] for r in shown["returns"]] == [back["amount"], 10900 - back["amount"]]
    assert shown["returned_due"] == 10900
    # and nothing more can be returned
    over = send_keyed(pos, terminal, path, {"reason": "again"}, idempotency_key())
    assert problem_code(over) == (422, "over_return")


def test_return_refusals(chain, terminal, pos, shop):
    # given a sale
    made = send_keyed(pos, terminal, f"{POS_API}/checkout", api_order(shop), idempotency_key())
    sale = made.json()["sale"]
    path = f"{POS_API}/sales/{sale['business_ref']}/returns"
    line = sale["lines"][0]
    # when lines or the reason are malformed; then refused before the key
    assert problem_code(
        send_keyed(pos, terminal, path, {"reason": "x", "lines": {line["id"]: 0}}, idempotency_key())
    ) == (
        400,
        "invalid_return_lines",
    )
    assert problem_code(send_keyed(pos, terminal, path, {"reason": "x", "lines": {}}, idempotency_key())) == (
        400,
        "invalid_return_lines",
    )
    assert problem_code(send_keyed(pos, terminal, path, {"lines": {line["id"]: 1}}, idempotency_key())) == (
        400,
        "return_reason_required",
    )
    # when a line of another sale, or more than was sold, is named; then refused
    assert problem_code(
        send_keyed(pos, terminal, path, {"reason": "x", "lines": {"999999": 1}}, idempotency_key())
    ) == (
        400,
        "invalid_return_lines",
    )
    assert problem_code(
        send_keyed(pos, terminal, path, {"reason": "x", "lines": {line["id"]: 5}}, idempotency_key())
    ) == (
        422,
        "over_return",
    )
    # and an unknown sale is 404
    assert problem_code(
        send_keyed(pos, terminal, f"{POS_API}/sales/NOPE/returns", {"reason": "x"}, idempotency_key())
    ) == (
        404,
        "sale_not_found",
    )
    # and nothing was given back
    assert not Sale.objects.get(business_ref=sale["business_ref"]).returns.exists()
    assert balances(reload(shop.card)) == (5000, 1000, 0)


def test_a_sale_of_another_merchant_is_not_found(chain, terminal, pos, shop):
    # given a sale at Acme's A1
    made = send_keyed(pos, terminal, f"{POS_API}/checkout", api_order(shop), idempotency_key())
    ref = made.json()["sale"]["business_ref"]
    # and a terminal of another merchant
    stranger = services.register_terminal(chain.other_manager, store=chain.other_store, name="Other till")
    # when it reads or returns the sale; then 404, and nothing is returned
    assert problem_code(pos.get(stranger, f"{POS_API}/sales/{ref}")) == (404, "sale_not_found")
    assert problem_code(
        send_keyed(pos, stranger, f"{POS_API}/sales/{ref}/returns", {"reason": "x"}, idempotency_key())
    ) == (
        404,
        "sale_not_found",
    )
    assert not Sale.objects.get(business_ref=ref).returns.exists()
    # and its quote does not find Acme's card
    quoted = pos.post(stranger, f"{POS_API}/checkout/quote", {"card_no": shop.card.number, "items": ITEMS})
    assert problem_code(quoted) == (422, "card_not_accepted_here")


def test_schema_validates_with_the_checkout_endpoints(db, tmp_path):
    import yaml
    from django.core.management import call_command

    # when the schema is generated with warnings as errors
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    schema = yaml.safe_load(target.read_text())
    # then the four endpoints are there with their answers and examples
    checkout = schema["paths"]["/api/v1/pos/checkout"]["post"]
    assert checkout["operationId"] == "pos_checkout"
    assert {"201", "400", "409", "422"} <= set(checkout["responses"])
    assert "examples" in checkout["requestBody"]["content"]["application/json"]
    assert schema["paths"]["/api/v1/pos/checkout/quote"]["post"]["operationId"] == "pos_checkout_quote"
    assert "get" in schema["paths"]["/api/v1/pos/sales/{business_ref}"]
    assert "201" in schema["paths"]["/api/v1/pos/sales/{business_ref}/returns"]["post"]["responses"]
    # and the product kind is an enum
    assert schema["components"]["schemas"]["ProductKindEnum"]["enum"] == ["product", "service"]


# ---- PostgreSQL: one coupon, two tills at once ---------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_coupon_at_two_terminals_at_once_is_used_once(chain, terminal, pos, shop):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    # given a second till and the member's voucher presented at both, each paying cash
    second = services.register_terminal(chain.store_manager, store=chain.a1, name="Till 2")
    payload = api_order(shop, tenders={"cash": 10900})
    barrier = threading.Barrier(2)
    answers, errors = [None, None], []

    def till(n, issued):
        try:
            barrier.wait()
            answers[n] = send_keyed(pos, issued, f"{POS_API}/checkout", payload, idempotency_key())
        except Exception as error:  # noqa: BLE001 - re-raised below
            errors.append(error)
        finally:
            connection.close()

    # when both check out at the same moment
    threads = [threading.Thread(target=till, args=(n, t)) for n, t in enumerate((terminal, second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then exactly one 201; the other is refused because the coupon is used
    assert not errors, errors
    outcomes = sorted((a.status_code, a.json().get("code")) for a in answers)
    assert outcomes == [(201, None), (422, "coupon_used")]
    assert Sale.objects.count() == 1
    coupon = Coupon.objects.get(pk=shop.coupon.pk)
    assert coupon.status == CouponStatus.REDEEMED
    assert coupon.redemption_ref == Sale.objects.get().business_ref
    assert PromotionUse.objects.filter(promotion=shop.promotion).count() == 1


def test_a_member_without_a_card_pays_cash_and_gets_change(chain, terminal, pos, shop):
    # given the member (no card sent) buying two teas (¥10, ¥1 off by the limited promotion) in cash
    order = {
        "member_id": str(shop.member.pk),
        "items": [{"sku": "TEA-1", "quantity": 2}],
        "tenders": {"cash": 900},
    }
    # when the customer hands over less than the cash tender: 422 cash_received_short, nothing taken
    short = send_keyed(
        pos, terminal, f"{POS_API}/checkout", {**order, "cash_received": 500}, idempotency_key()
    )
    assert problem_code(short) == (422, "cash_received_short")
    assert not Sale.objects.exists()
    # when ¥20 is handed over
    response = send_keyed(
        pos, terminal, f"{POS_API}/checkout", {**order, "cash_received": 2000}, idempotency_key()
    )
    # then the sale is the member's, without a card, and answers the change
    assert response.status_code == 201, response.content
    sale = response.json()["sale"]
    assert (sale["card_no"], sale["member"]["id"]) == (None, str(shop.member.pk))
    assert (sale["total_due"], sale["cash_received"], sale["change"]) == (900, 2000, 1100)
    # and a card and a member together are refused
    both = send_keyed(
        pos, terminal, f"{POS_API}/checkout", {**order, "card_no": shop.card.number}, idempotency_key()
    )
    assert problem_code(both)[0] == 400
