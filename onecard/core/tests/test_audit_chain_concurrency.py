"""PostgreSQL only: many processes' worth of clients writing audit records at once, each on its own connection.

Records are sealed after their commits by whichever client gets the chain head first (the others
do not wait for it); the chain must still come out whole: every committed record once, numbered
without gaps.
"""

import threading
import time

import pytest
from django.db import transaction

from onecard.core import audit
from onecard.core.audit_chain import seal_audit_log, verify_audit_log
from onecard.core.models import AuditChainHead, AuditEntry
from onecard.testing.concurrency import run_clients

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_twelve_clients_writing_records_at_once_leave_one_whole_chain(chain):
    # given the chain fixture's records, sealed
    before = AuditEntry.objects.count()
    committed, lock = [], threading.Lock()
    deadline = time.monotonic() + 2.5

    def client(n):
        i = 0
        while time.monotonic() < deadline:
            i += 1
            try:
                with transaction.atomic():
                    audit.record(chain.hq_admin, "update", chain.a1, note=f"{n}:{i}:a")
                    if i % 3 == 0:  # two records in one transaction
                        audit.record(chain.hq_admin, "update", chain.a2, note=f"{n}:{i}:b")
                    if i % 5 == 0:  # a change that fails takes its records with it
                        raise LookupError
            except LookupError:
                continue
            with lock:
                committed.extend([f"{n}:{i}:a"] + ([f"{n}:{i}:b"] if i % 3 == 0 else []))

    # when the clients write, each sealing after its commits unless another client is sealing
    run_clients(12, client)
    # and the job then seals what they left to it
    left_to_the_job = seal_audit_log()

    # then the clients sealed most records themselves
    assert left_to_the_job < len(committed) / 2
    # and every committed record is in the chain once, numbered 1..N without a gap, and nothing else is
    notes = list(AuditEntry.objects.exclude(note="").order_by("seq").values_list("note", flat=True))
    assert sorted(notes) == sorted(committed)
    assert len(committed) > 100
    total = before + len(committed)
    assert list(AuditEntry.objects.order_by("seq").values_list("seq", flat=True)) == list(range(1, total + 1))
    assert AuditChainHead.objects.get().seq == total
    report = verify_audit_log()
    assert (report.ok, report.sealed, report.unsealed) == (True, total, 0), [str(p) for p in report.problems]


def test_a_change_does_not_wait_while_another_process_holds_the_chain_head(chain):
    # given another process in the middle of a seal (it holds the head's row lock)
    holding, release = threading.Event(), threading.Event()

    def sealer(_n):
        with transaction.atomic():
            AuditChainHead.objects.select_for_update().get(pk=1)
            holding.set()
            release.wait(10)

    other = threading.Thread(target=run_clients, args=(1, sealer))
    other.start()
    assert holding.wait(10)
    try:
        # when a change is audited and committed meanwhile
        began = time.monotonic()
        record = audit.record(chain.hq_admin, "update", chain.a1, note="while busy")
        waited = time.monotonic() - began
    finally:
        release.set()
        other.join()
    # then it did not queue behind the lock, and its record waits for the next seal
    assert waited < 1
    assert AuditEntry.objects.get(pk=record.pk).seq is None
    assert seal_audit_log() == 1
    assert verify_audit_log().ok
