"""Card products, batches, the life-cycle state machine, scoping, passwords and card lookup."""

import datetime

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from onecard.core.errors import BusinessError, PermissionDenied, ValidationFailed
from onecard.core.models import AuditEntry
from onecard.loyalty.cards import services as svc
from onecard.loyalty.cards.choices import CardKind, CardStatus
from onecard.loyalty.cards.numbers import card_number, is_valid_number, luhn_check_digit, normalize_number
from onecard.loyalty.cards.products import create_product, issue_batch, update_product
from onecard.loyalty.ledger.choices import AccountKind
from onecard.loyalty.models import Card, CardProduct
from onecard.testing.cards import active_card, make_product, put_value, reload, stock

# ---- numbers and batches ---------------------------------------------------------------------------------


def test_luhn_check_digit_matches_the_textbook_example():
    assert luhn_check_digit("7992739871") == "3"
    assert is_valid_number("79927398713")
    assert not is_valid_number("79927398710")
    assert not is_valid_number("7992739871x")
    assert normalize_number(" 7992 7398-713 ") == "79927398713"


def test_every_mistyped_digit_fails_the_check():
    number = card_number("8800", 1234, 8)
    for position in range(len(number)):
        for digit in "0123456789":
            if digit != number[position]:
                typo = number[:position] + digit + number[position + 1 :]
                assert not is_valid_number(typo)


def test_a_batch_numbers_are_luhn_valid_unique_and_in_stock(chain, card_product):
    # when
    cards = stock(card_product, chain.a1, count=1000, prefix="8800", start=500)
    # then
    numbers = [c.number for c in cards]
    assert len(numbers) == len(set(numbers)) == 1000
    assert all(is_valid_number(n) and len(n) == 4 + 8 + 1 for n in numbers)
    assert numbers[0] == "880000000500" + luhn_check_digit("880000000500")
    assert numbers[-1] == card_number("8800", 1499, 8)
    assert {c.status for c in cards} == {CardStatus.IN_STOCK}
    assert {c.issued_store_id for c in cards} == {chain.a1.pk}
    assert len({c.qr_secret for c in cards}) == 1000


def test_a_batch_of_10000_cards_is_one_bulk_insert(chain, card_product):
    # when
    with CaptureQueriesContext(connection) as queries:
        batch = issue_batch(None, card_product, store=chain.a1, prefix="66", start=0, count=10_000)
    # then
    assert Card.objects.filter(batch=batch).count() == 10_000
    inserts = [q for q in queries.captured_queries if 'INSERT INTO "loyalty_card" ' in q["sql"]]
    assert len(inserts) == 1  # one executemany for all the cards, never a save() per card
    assert AuditEntry.objects.filter(subject_type="loyalty.cardbatch", subject_id=str(batch.pk)).count() == 1


def test_an_overlapping_range_is_refused_and_writes_nothing(chain, card_product):
    # given
    stock(card_product, chain.a1, count=100, prefix="8800", start=1)
    # when / then
    with pytest.raises(BusinessError) as refused:
        issue_batch(None, card_product, store=chain.a1, prefix="8800", start=100, count=10)
    assert refused.value.code == "card_numbers_taken"
    assert Card.objects.count() == 100


def test_the_same_digits_from_another_prefix_are_refused_by_the_unique_number(chain, card_product):
    # given: "88" + 00000001 and "880" + 0000001 are the same digits
    stock(card_product, chain.a1, count=5, prefix="88", start=1)
    # when / then
    with pytest.raises(BusinessError) as refused:
        issue_batch(None, card_product, store=chain.a1, prefix="880", start=1, serial_width=7, count=5)
    assert refused.value.code == "card_numbers_taken"
    assert Card.objects.count() == 5
    assert Card.objects.filter(number__startswith="88").count() == 5  # the transaction is still usable


@pytest.mark.parametrize(
    "prefix, start, count, width",
    [("88a", 1, 10, 8), ("", 1, 10, 8), ("88", 1, 0, 8), ("88", 9999, 2, 4), ("1234567890", 1, 1, 12)],
)
def test_malformed_ranges_are_refused(chain, card_product, prefix, start, count, width):
    with pytest.raises(BusinessError) as refused:
        issue_batch(
            None, card_product, store=chain.a1, prefix=prefix, start=start, count=count, serial_width=width
        )
    assert refused.value.code == "invalid_card_range"
    assert Card.objects.count() == 0


def test_cards_are_issued_into_a_store_of_the_products_merchant_within_scope(chain, card_product):
    with pytest.raises(BusinessError) as refused:
        issue_batch(None, card_product, store=chain.other_store, prefix="77", start=1, count=1)
    assert refused.value.code == "invalid_card_range"
    with pytest.raises(PermissionDenied):
        issue_batch(chain.cashier_b1, card_product, store=chain.a1, prefix="77", start=1, count=1)


# ---- products ------------------------------------------------------------------------------------------------


def test_product_caps_default_by_registration_and_can_be_overridden(chain):
    registered = make_product(chain, name="记名卡")
    anonymous = make_product(chain, name="不记名卡", registered=False, validity_days=1096)
    own_cap = make_product(chain, name="高额卡", balance_cap=2_000_000)
    assert registered.effective_balance_cap == 500_000
    assert anonymous.effective_balance_cap == 100_000
    assert own_cap.effective_balance_cap == 2_000_000


@pytest.mark.parametrize(
    "fields, error_field",
    [
        ({"registered": True, "validity_days": 2000}, "validity_days"),
        ({"registered": False, "validity_days": 1000}, "validity_days"),
        ({"balance_cap": 0}, "balance_cap"),
        ({"password_threshold": -1}, "password_threshold"),
        ({"kind": "gift"}, "kind"),
    ],
)
def test_product_rules_are_enforced(chain, fields, error_field):
    with pytest.raises(ValidationFailed) as refused:
        make_product(chain, **fields)
    assert error_field in refused.value.errors
    assert CardProduct.objects.count() == 0


def test_the_database_refuses_a_registered_card_that_expires(chain):
    with pytest.raises(IntegrityError), transaction.atomic():
        CardProduct.objects.create(merchant=chain.merchant, name="x", kind="stored_value", validity_days=1200)


def test_products_are_changed_from_head_office_and_audited(chain, card_product):
    with pytest.raises(PermissionDenied):
        update_product(chain.store_manager, card_product, name="改名")
    update_product(chain.hq_admin, card_product, password_threshold=10_000, stores=[chain.a1])
    card_product.refresh_from_db()
    assert card_product.password_threshold == 10_000
    assert card_product.accepts_store(chain.a1) and not card_product.accepts_store(chain.b1)
    entry = AuditEntry.objects.filter(subject_type="loyalty.cardproduct").latest("id")
    assert entry.after == {"password_threshold": 10_000}


# ---- life cycle ---------------------------------------------------------------------------------------------


def test_a_registered_card_is_bound_then_activated(chain, card_product, member_factory):
    # given
    card = stock(card_product, chain.a1)[0]
    member = member_factory()
    # when: activating before binding is refused
    with pytest.raises(BusinessError) as refused:
        svc.activate(chain.cashier_a1, card)
    assert refused.value.code == "card_not_bound"
    svc.bind_to_member(chain.cashier_a1, card, member)
    svc.activate(chain.cashier_a1, card)
    # then
    card = reload(card)
    assert (card.status, card.member_id, card.expires_at) == (CardStatus.ACTIVE, member.pk, None)
    assert card.activated_at is not None and card.bound_at is not None
    assert AuditEntry.objects.filter(subject_type="loyalty.card", subject_id=str(card.pk)).count() == 2


def test_an_anonymous_card_activates_without_member_and_expires_after_its_validity(chain):
    product = make_product(chain, name="不记名", registered=False, validity_days=1096)
    card = svc.activate(None, stock(product, chain.a1)[0])
    assert card.member_id is None
    assert card.expires_at - card.activated_at == datetime.timedelta(days=1096)


def test_binding_twice_or_to_another_merchants_member_is_refused(chain, card, member_factory):
    with pytest.raises(BusinessError) as refused:
        svc.bind_to_member(None, card, member_factory())
    assert refused.value.code == "card_already_bound"
    spare = Card.objects.filter(status=CardStatus.IN_STOCK).first()
    with pytest.raises(BusinessError) as refused:
        svc.bind_to_member(None, spare, member_factory(store=chain.other_store))
    assert refused.value.code == "card_member_mismatch"


def test_freeze_unfreeze_lost_found(chain, card):
    assert svc.freeze(chain.cashier_a1, card, reason="member asked").status == CardStatus.FROZEN
    assert svc.unfreeze(chain.cashier_a1, card).status == CardStatus.ACTIVE
    assert svc.report_lost(chain.cashier_a1, card).status == CardStatus.LOST
    assert svc.report_found(chain.cashier_a1, card).status == CardStatus.ACTIVE
    notes = list(
        AuditEntry.objects.filter(subject_type="loyalty.card", subject_id=str(card.pk))
        .order_by("id")
        .values_list("note", flat=True)
    )
    assert notes[-4:] == ["member asked", "unfreeze", "report lost", "report found"]


def _force_status(card, status):
    Card.objects.filter(pk=card.pk).update(status=status)
    return reload(card)


ILLEGAL = [
    (CardStatus.IN_STOCK, "freeze", "card_not_active"),
    (CardStatus.IN_STOCK, "report_lost", "card_not_active"),
    (CardStatus.IN_STOCK, "unfreeze", "card_not_active"),
    (CardStatus.ACTIVE, "activate", "card_already_active"),
    (CardStatus.ACTIVE, "unfreeze", "card_already_active"),
    (CardStatus.ACTIVE, "report_found", "card_already_active"),
    (CardStatus.ACTIVE, "reactivate", "card_already_active"),
    (CardStatus.FROZEN, "freeze", "card_frozen"),
    (CardStatus.FROZEN, "activate", "card_frozen"),
    (CardStatus.LOST, "freeze", "card_lost"),
    (CardStatus.LOST, "unfreeze", "card_lost"),
    (CardStatus.REPLACED, "freeze", "card_replaced"),
    (CardStatus.REPLACED, "cancel", "card_replaced"),
    (CardStatus.MERGED, "report_lost", "card_merged"),
    (CardStatus.CANCELLED, "unfreeze", "card_cancelled"),
    (CardStatus.CANCELLED, "activate", "card_cancelled"),
    (CardStatus.CANCELLED, "cancel", "card_cancelled"),
    (CardStatus.EXPIRED, "freeze", "card_expired"),
    (CardStatus.EXPIRED, "report_lost", "card_expired"),
]


@pytest.mark.parametrize("status, action, code", ILLEGAL)
def test_illegal_transitions_are_refused_with_their_code_and_change_nothing(
    chain, card, status, action, code
):
    # given
    card = _force_status(card, status)
    audit_rows = AuditEntry.objects.count()
    # when
    with pytest.raises(BusinessError) as refused:
        getattr(svc, action)(chain.store_manager, card)
    # then
    assert refused.value.code == code
    assert reload(card).status == status
    assert AuditEntry.objects.count() == audit_rows


def test_expiry_job_and_reactivation_keep_the_balance(chain):
    # given: an anonymous card with ¥300 whose validity has run out
    product = make_product(chain, name="不记名", registered=False, validity_days=1096)
    card = svc.activate(None, stock(product, chain.a1)[0])
    put_value(chain, card, principal=30_000)
    later = card.expires_at + datetime.timedelta(seconds=1)
    # when
    assert svc.expire_due_cards(now=later) == 1
    assert svc.expire_due_cards(now=later) == 0
    # then
    assert reload(card).status == CardStatus.EXPIRED
    card = svc.reactivate(chain.store_manager, card)
    assert card.status == CardStatus.ACTIVE and card.expires_at > timezone.now() + datetime.timedelta(
        days=1095
    )
    assert svc.card_balances(card)[AccountKind.MEMBER_PRINCIPAL] == 30_000


def test_cancel_reports_the_refundable_principal_and_refuses_open_holds(
    chain, card, card_product, member_factory
):
    # given
    put_value(chain, card, principal=20_000, bonus=2_000)
    # when
    result = svc.cancel(chain.store_manager, card, reason="member moves away")
    # then
    assert (result.card.status, result.refundable_principal) == (CardStatus.CANCELLED, 20_000)
    other = active_card(Card.objects.filter(status=CardStatus.IN_STOCK).first(), member_factory())
    put_value(chain, other, principal=5_000, hold=1_000)
    with pytest.raises(BusinessError) as refused:
        svc.cancel(chain.store_manager, other)
    assert refused.value.code == "card_has_open_holds"
    assert reload(other).status == CardStatus.ACTIVE


# ---- scope ------------------------------------------------------------------------------------------------------


def test_a_store_b1_cashier_cannot_manage_a_card_of_store_a1(chain, card):
    with pytest.raises(PermissionDenied):
        svc.freeze(chain.cashier_b1, card)
    with pytest.raises(PermissionDenied):
        svc.freeze(chain.other_manager, card)
    assert reload(card).status == CardStatus.ACTIVE
    assert card not in svc.cards_visible_to(chain.cashier_b1)
    assert card in svc.cards_visible_to(chain.cashier_a1)
    assert card in svc.cards_visible_to(chain.region_manager)


def test_the_members_home_store_may_manage_a_card_issued_elsewhere(chain, card_product, member_factory):
    # given: a card from A1's stock sold to a member of store B1
    card = active_card(stock(card_product, chain.a1)[0], member_factory(store=chain.b1))
    # when / then
    assert svc.freeze(chain.cashier_b1, card).status == CardStatus.FROZEN
    assert card in svc.cards_visible_to(chain.cashier_b1)


# ---- password -----------------------------------------------------------------------------------------------------


def test_the_password_is_hashed_and_locks_after_five_wrong_tries(chain, card):
    # given
    svc.set_card_password(chain.cashier_a1, card, "246810")
    assert reload(card).password_hash != "246810" and reload(card).has_password
    # when: four wrong tries
    for left in (4, 3, 2, 1):
        with pytest.raises(BusinessError) as refused:
            svc.check_card_password(card, "000000")
        assert (refused.value.code, refused.value.extra["attempts_left"]) == ("wrong_card_password", left)
    # then: the fifth locks it, and then even the right password is refused
    with pytest.raises(BusinessError) as refused:
        svc.check_card_password(card, "000000")
    assert refused.value.code == "card_password_locked"
    with pytest.raises(BusinessError) as refused:
        svc.check_card_password(card, "246810")
    assert refused.value.code == "card_password_locked"
    assert reload(card).failed_password_attempts == 5
    # and staff setting a new password lifts the lock
    svc.set_card_password(chain.store_manager, card, "135790")
    svc.check_card_password(card, "135790")
    assert reload(card).failed_password_attempts == 0


def test_a_right_password_resets_the_counter(chain, card):
    svc.set_card_password(None, card, "246810")
    with pytest.raises(BusinessError):
        svc.check_card_password(card, "1111")
    svc.check_card_password(card, "246810")
    assert reload(card).failed_password_attempts == 0


def test_password_check_refuses_to_run_inside_the_sales_transaction(card):
    svc.set_card_password(None, card, "246810")
    with pytest.raises(RuntimeError), transaction.atomic():
        svc.check_card_password(card, "000000")


def test_charges_above_the_threshold_need_the_password(chain, card, card_product):
    update_product(None, card_product, password_threshold=50_000)
    card = reload(card)
    svc.require_password_for_charge(card, 90_000)  # no password on the card: nothing to ask
    svc.set_card_password(None, card, "246810")
    card = reload(card)
    svc.require_password_for_charge(card, 50_000)
    with pytest.raises(BusinessError) as refused:
        svc.require_password_for_charge(card, 50_001)
    assert refused.value.code == "card_password_required"
    svc.require_password_for_charge(card, 50_001, "246810")
    Card.objects.filter(pk=card.pk).update(password_threshold=0)
    assert reload(card).password_required_for(1)


def test_bad_passwords_are_refused(card):
    with pytest.raises(ValidationFailed):
        svc.set_card_password(None, card, "abc")


# ---- lookup ------------------------------------------------------------------------------------------------------


def test_resolve_card_by_number_rfid_and_refusals(chain, card, card_product):
    spaced = " ".join([card.number[:4], card.number[4:8], card.number[8:]])
    assert svc.resolve_card(spaced) == card
    Card.objects.filter(pk=card.pk).update(rfid_uid="04A1B2C3")
    assert svc.resolve_card("04a1b2c3") == card
    typo = card.number[:-1] + str((int(card.number[-1]) + 1) % 10)
    for text, code in [
        (typo, "card_not_found"),
        (card_number("9999", 1, 8), "card_not_found"),
        ("", "card_not_found"),
    ]:
        with pytest.raises(BusinessError) as refused:
            svc.resolve_card(text)
        assert refused.value.code == code
    in_stock = Card.objects.filter(status=CardStatus.IN_STOCK).first()
    with pytest.raises(BusinessError) as refused:
        svc.resolve_card(in_stock.number)
    assert refused.value.code == "card_not_active"
    svc.freeze(None, card)
    with pytest.raises(BusinessError) as refused:
        svc.resolve_card(card.number)
    assert refused.value.code == "card_frozen"


def test_resolve_card_refuses_an_expired_card_before_the_job_ran_and_a_store_not_accepting_it(chain):
    product = make_product(chain, name="不记名", registered=False, validity_days=1096, stores=[chain.a1])
    card = svc.activate(None, stock(product, chain.a1)[0])
    assert svc.resolve_card(card.number, store=chain.a1) == card
    with pytest.raises(BusinessError) as refused:
        svc.resolve_card(card.number, store=chain.b1)
    assert refused.value.code == "card_not_accepted_here"
    with pytest.raises(BusinessError) as refused:
        svc.resolve_card(card.number, at=card.expires_at)
    assert refused.value.code == "card_expired"


def test_points_cards_are_a_kind_of_product(chain):
    product = create_product(None, chain.merchant, name="积分卡", kind=CardKind.POINTS)
    assert product.kind == "points" and product.registered


def test_looking_up_a_card_by_number_is_one_query(card, django_assert_num_queries):
    with django_assert_num_queries(1):
        found = svc.resolve_card(card.number)
        assert (found.product.name, found.member.name, found.issued_store.code) == ("储值卡", "张三", "A1")
