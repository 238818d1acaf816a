"""run_idempotent: one effect per key, replays identical, conflicts 409, refusals stay refused."""

import datetime
import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone

from onecard.core import audit
from onecard.core.errors import BusinessError
from onecard.core.idempotency import (
    IdempotencyConflict,
    InvalidIdempotencyKey,
    current_idempotency_key,
    purge_idempotency_keys,
    run_idempotent,
)
from onecard.core.models import AuditEntry, IdempotencyKey


class OutOfStock(BusinessError):
    status = 422
    code = "out_of_stock"


def effects():
    return AuditEntry.objects.filter(subject_type="test.effect").count()


def effect(status=201, **body):
    """An fn for run_idempotent that writes one audit row (the 'effect') and answers `body`."""
    calls = []

    def fn():
        calls.append(1)
        row = audit.record(None, "create", subject_type="test.effect", subject_id="1")
        return status, {"effect": row.pk, **body}

    fn.calls = calls
    return fn


REQUEST = {"method": "POST", "path": "/api/v1/pos/charge/", "body": {"card": "8000123", "amount": 1999}}


@pytest.mark.django_db
def test_a_retry_returns_the_first_result_unchanged_and_does_nothing_again():
    # given
    fn = effect(zeta=1, alpha=Decimal("1.50"), when=datetime.date(2025, 1, 2))
    first = run_idempotent("k-1", REQUEST, fn, scope="terminal:7")
    # when
    again = run_idempotent("k-1", REQUEST, fn, scope="terminal:7")
    # then
    assert (first.status, first.replayed) == (201, False)
    assert (again.status, again.replayed) == (201, True)
    assert (
        again.body
        == first.body
        == {"effect": first.body["effect"], "zeta": 1, "alpha": "1.50", "when": "2025-01-02"}
    )
    assert list(again.body) == ["effect", "zeta", "alpha", "when"]  # same key order, byte-identical JSON
    assert len(fn.calls) == 1
    assert effects() == 1


@pytest.mark.django_db
def test_the_same_key_with_another_request_is_refused_with_409():
    run_idempotent("k-2", REQUEST, effect())
    other = {**REQUEST, "body": {"card": "8000123", "amount": 2999}}
    with pytest.raises(IdempotencyConflict) as conflict:
        run_idempotent("k-2", other, effect())
    assert (conflict.value.status, conflict.value.code) == (409, "idempotency_conflict")
    assert effects() == 1


@pytest.mark.django_db
def test_a_key_refused_for_a_business_reason_stays_refused():
    # given: the first attempt writes an effect, then refuses
    def refuse():
        audit.record(None, "create", subject_type="test.effect")
        raise OutOfStock("只剩 0 件")

    first = run_idempotent("k-3", REQUEST, refuse)
    # when: the retry would now succeed
    fn = effect()
    again = run_idempotent("k-3", REQUEST, fn)
    # then: the refusal is the stored result, and the refused attempt's writes were rolled back
    assert (first.status, first.body["code"], first.body["detail"], first.replayed) == (
        422,
        "out_of_stock",
        "只剩 0 件",
        False,
    )
    assert (again.status, again.body, again.replayed) == (422, first.body, True)
    assert fn.calls == []
    assert effects() == 0


@pytest.mark.django_db
def test_an_unexpected_error_stores_nothing_so_the_key_can_be_retried():
    def crash():
        audit.record(None, "create", subject_type="test.effect")
        raise RuntimeError("terminal lost power")

    with pytest.raises(RuntimeError):
        run_idempotent("k-4", REQUEST, crash)
    assert IdempotencyKey.objects.filter(key="k-4").count() == 0
    assert run_idempotent("k-4", REQUEST, effect()).replayed is False
    assert effects() == 1


@pytest.mark.django_db
def test_keys_are_separate_per_scope():
    a = run_idempotent("same", REQUEST, effect(), scope="terminal:1")
    b = run_idempotent("same", REQUEST, effect(), scope="terminal:2")
    assert (a.replayed, b.replayed) == (False, False)
    assert effects() == 2


@pytest.mark.django_db
def test_the_key_is_visible_to_the_effect_while_it_runs():
    seen = []
    run_idempotent("k-5", REQUEST, lambda: seen.append(current_idempotency_key()) or (200, {}), scope="t:9")
    assert seen == ["t:9:k-5"]
    assert current_idempotency_key() == ""


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("key", "code"),
    [("", "idempotency_key_required"), (None, "idempotency_key_required"), (" padded", "invalid_idempotency_key"),
     ("a" * 256, "invalid_idempotency_key"), ("new\nline", "invalid_idempotency_key")],
)  # fmt: skip
def test_malformed_keys_are_refused(key, code):
    with pytest.raises(InvalidIdempotencyKey) as refused:
        run_idempotent(key, REQUEST, effect())
    assert (refused.value.status, refused.value.code) == (400, code)
    assert effects() == 0


@pytest.mark.django_db
def test_it_is_the_transaction_boundary_and_refuses_to_nest():
    with pytest.raises(RuntimeError), transaction.atomic():
        run_idempotent("k-6", REQUEST, effect())


@pytest.mark.django_db
def test_purge_deletes_only_keys_older_than_seven_days():
    now = timezone.now()
    for name, age in [("old", 8), ("week", 7), ("new", 1)]:
        run_idempotent(name, REQUEST, effect())
        IdempotencyKey.objects.filter(key=name).update(
            created_at=now - datetime.timedelta(days=age, seconds=1)
        )
    assert purge_idempotency_keys(now=now) == 2
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]
    with pytest.raises(ValueError):
        purge_idempotency_keys(older_than=datetime.timedelta(days=6))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_five_parallel_duplicates_make_one_effect_and_identical_answers():
    # given
    barrier = threading.Barrier(5)
    results, errors = [], []

    def slow_effect():
        row = audit.record(None, "create", subject_type="test.effect")
        threading.Event().wait(0.2)  # hold the claim while the others arrive
        return 201, {"effect": row.pk}

    def client():
        try:
            barrier.wait()
            results.append(run_idempotent("dup", REQUEST, slow_effect, scope="terminal:1"))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=client) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then
    assert errors == []
    assert effects() == 1
    assert len({(r.status, str(r.body)) for r in results}) == 1
    assert sorted(r.replayed for r in results) == [False, True, True, True, True]
