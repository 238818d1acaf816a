"""The dynamic member QR: current codes work once, old codes expire, tampered codes are refused."""

import datetime
import threading

import pytest
from django.db import connection, transaction
from django.utils import timezone

from onecard.core.errors import BusinessError
from onecard.loyalty.cards import qr
from onecard.loyalty.cards import services as svc
from onecard.loyalty.models import UsedQrCode
from onecard.testing.cards import active_card, make_product, stock

T0 = datetime.datetime(2026, 11, 25, 8, 0, 5, tzinfo=datetime.UTC)  # 5 s into a step


def refused_code(payload, at):
    with pytest.raises(BusinessError) as refused:
        qr.verify_qr(payload, at=at)
    return refused.value.code


def test_the_code_names_the_card_and_changes_every_step(card):
    # when
    first = qr.current_qr(card, at=T0)
    same_step = qr.current_qr(card, at=T0 + datetime.timedelta(seconds=20))
    next_step = qr.current_qr(card, at=T0 + datetime.timedelta(seconds=30))
    # then
    prefix, number, step, mac = first.payload.split(".")
    assert (prefix, number, int(step), len(mac)) == ("OC1", card.number, first.step, 12)
    assert same_step.payload == first.payload
    assert next_step.payload != first.payload and next_step.step == first.step + 1
    assert first.valid_until == datetime.datetime(2026, 11, 25, 8, 1, 0, tzinfo=datetime.UTC)


def test_a_current_code_is_accepted_once_then_refused_as_replayed(card):
    code = qr.current_qr(card, at=T0).payload
    # when
    assert qr.verify_qr(code, at=T0 + datetime.timedelta(seconds=3)) == card
    # then
    assert refused_code(code, T0 + datetime.timedelta(seconds=4)) == "qr_replayed"
    assert UsedQrCode.objects.filter(card=card).count() == 1


def test_one_step_of_skew_is_accepted_and_older_codes_expire(card):
    code = qr.current_qr(card, at=T0).payload
    assert refused_code(code, T0 + datetime.timedelta(seconds=55)) == "qr_expired"  # two steps on
    code = qr.current_qr(card, at=T0 + datetime.timedelta(seconds=60)).payload
    assert qr.verify_qr(code, at=T0 + datetime.timedelta(seconds=85)) == card  # one step on: still good


def test_a_code_from_the_far_future_or_tampered_is_invalid(card, chain):
    future = qr.current_qr(card, at=T0 + datetime.timedelta(minutes=5)).payload
    assert refused_code(future, T0) == "qr_invalid"
    code = qr.current_qr(card, at=T0).payload
    flipped = code[:-1] + ("0" if code[-1] != "0" else "1")
    assert refused_code(flipped, T0) == "qr_invalid"
    other = stock(make_product(chain, name="别的卡"), chain.a1, prefix="77")[0]
    forged = code.replace(card.number, other.number)
    assert refused_code(forged, T0) == "qr_invalid"
    for junk in ["", "OC1.", "OC1.123.abc.def", "OC2." + code[4:], code + ".x"]:
        assert refused_code(junk, T0) == "qr_invalid"
    assert UsedQrCode.objects.count() == 0


def test_a_sale_that_is_rolled_back_leaves_the_code_usable(card):
    code = qr.current_qr(card, at=T0).payload
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        qr.verify_qr(code, at=T0)
        1 / 0  # noqa: B018 - the sale fails after the code was accepted
    assert qr.verify_qr(code, at=T0) == card


def test_resolve_card_accepts_the_qr_and_checks_the_cards_status(card):
    code = qr.current_qr(card).payload
    assert svc.resolve_card(code) == card
    svc.freeze(None, card)
    later = timezone.now() + datetime.timedelta(seconds=qr.STEP_SECONDS)
    with pytest.raises(BusinessError) as refused:
        svc.resolve_card(qr.current_qr(card, at=later).payload, at=later)
    assert refused.value.code == "card_frozen"


def test_used_codes_are_purged_after_the_window(card):
    qr.verify_qr(qr.current_qr(card, at=T0).payload, at=T0)
    assert qr.purge_used_codes(now=T0 + datetime.timedelta(minutes=5)) == 0
    assert qr.purge_used_codes(now=T0 + datetime.timedelta(minutes=11)) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_tills_racing_with_one_screenshot_one_wins(chain, member_factory):
    # given
    card = active_card(stock(make_product(chain), chain.a1)[0], member_factory())
    code = qr.current_qr(card).payload
    barrier, results = threading.Barrier(4), []

    def till():
        try:
            barrier.wait()
            with transaction.atomic():
                qr.verify_qr(code)
            results.append("ok")
        except BusinessError as error:
            results.append(error.code)
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=till) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then
    assert sorted(results) == ["ok", "qr_replayed", "qr_replayed", "qr_replayed"]


def test_the_qr_of_a_replaced_card_stops_working(chain, card):
    spare = stock(make_product(chain, name="补卡"), chain.a1, prefix="77")[0]
    svc.replace(None, card, spare)
    with pytest.raises(BusinessError) as refused:
        svc.resolve_card(qr.current_qr(card).payload)
    assert refused.value.code == "card_replaced"
    assert svc.resolve_card(qr.current_qr(spare).payload) == spare
