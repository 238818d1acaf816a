"""The audit log's hash chain: records are sealed when their transaction commits, and `onecard audit verify`
names every record and field changed, deleted or left unsealed behind the application's back."""

import datetime
import importlib
import io

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import QuerySet

from onecard.core import audit, audit_chain
from onecard.core.audit_chain import AUDIT_HASHED_FIELDS, UNSEALED_GRACE, seal_audit_log, verify_audit_log
from onecard.core.context import RequestContext, reset_context, set_context
from onecard.core.models import AuditChainHead, AuditEntry, AuditWriteRefused
from onecard.org import services

pytestmark = pytest.mark.django_db
real_seal = seal_audit_log


def behind_the_apps_back(pk, **values):
    """UPDATE one audit row directly (Django's plain QuerySet.update, no model code)."""
    assert QuerySet.update(AuditEntry.objects.filter(pk=pk), **values) == 1


def problems(report):
    return [(p.check, p.subject, p.detail) for p in report.problems]


def run_verify():
    """(exit status, stdout, stderr) of `onecard audit verify`."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("audit", "verify", stdout=out, stderr=err)
    except CommandError as error:
        return error.returncode, out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


@pytest.fixture
def trail(chain):
    """Three sealed records with every field filled: a change with before/after, from an address and a browser."""
    QuerySet.delete(AuditEntry.objects.all())  # the chain fixture's own records: start the chain at seq 1
    token = set_context(RequestContext(ip="2001:DB8::7", user_agent="till-7"))
    try:
        for phone in ("021-1", "021-2", "021-3"):
            services.update_node(chain.hq_admin, chain.a1, phone=phone)
    finally:
        reset_context(token)
    assert seal_audit_log() == 3
    return list(AuditEntry.objects.order_by("seq"))


@pytest.mark.django_db(transaction=True)
def test_records_are_sealed_in_order_once_their_transaction_commits(chain, monkeypatch):
    # given the chain's own records, sealed as each committed (no transaction around them)
    assert verify_audit_log().unsealed == 0
    head = AuditChainHead.objects.get().seq
    seals = []
    monkeypatch.setattr(audit_chain, "seal_audit_log", lambda **options: seals.append(real_seal(**options)))
    # when two records are written in one transaction
    with transaction.atomic():
        audit.record(chain.hq_admin, "update", chain.a1, note="first")
        audit.record(chain.hq_admin, "update", chain.a2, note="second")
        assert seals == []  # not before the commit
    # then one seal ran after the commit and chained both, oldest first
    assert seals == [2]
    first, second = AuditEntry.objects.order_by("-id")[:2][::-1]
    assert (first.seq, second.seq, second.prev_hash) == (head + 1, head + 2, first.hash)
    assert AuditChainHead.objects.values_list("seq", "hash").get() == (head + 2, second.hash)
    assert run_verify()[:2] == (
        0,
        f"Checked {head + 2} sealed audit records (chain head at seq {head + 2}), 0 not sealed yet.\n"
        "Audit log OK: every record matches the hash chain.\n",
    )


@pytest.mark.django_db(transaction=True)
def test_a_record_rolled_back_with_its_change_is_never_sealed(chain):
    count = AuditEntry.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        audit.record(chain.hq_admin, "update", chain.a1)
        raise RuntimeError("the change fails")
    assert AuditEntry.objects.count() == count
    assert verify_audit_log().ok


# column → its new value (given the chain and the record), the name verify gives it
FIELD_TAMPERS = {
    "at": lambda chain, row: row.at - datetime.timedelta(seconds=1),
    "actor_id": lambda chain, row: chain.cashier_a1.pk,
    "actor_name": lambda chain, row: "a1cash",
    "action": lambda chain, row: "delete",
    "subject_type": lambda chain, row: "org.staff",
    "subject_id": lambda chain, row: "99",
    "subject_repr": lambda chain, row: "浦东店",
    "node_id": lambda chain, row: chain.a2.pk,
    "merchant_id": lambda chain, row: chain.other.pk,
    "before": lambda chain, row: {"phone": "110"},
    "after": lambda chain, row: None,
    "note": lambda chain, row: "nothing happened",
    "ip": lambda chain, row: "192.0.2.1",
    "user_agent": lambda chain, row: "curl",
}


@pytest.mark.parametrize("column", sorted(FIELD_TAMPERS))
def test_each_field_of_a_record_changed_in_the_database_is_named(chain, trail, column):
    # given the middle record of a sealed trail
    row = trail[1]
    # when one of its columns is changed in the database
    behind_the_apps_back(row.pk, **{column: FIELD_TAMPERS[column](chain, row)})
    # then verify fails on that record only, naming the field
    name = column.removesuffix("_id")
    subject = f"audit record {row.pk} (seq 2)"
    assert problems(verify_audit_log()) == [
        ("record_changed", subject, f"{name} changed since it was recorded")
    ]
    status, _out, err = run_verify()
    assert status == 1
    assert f"{subject}: record_changed: {name} changed since it was recorded" in err


def test_an_address_written_in_another_form_is_not_a_change(trail):
    # the database may hand an IPv6 address back in another spelling
    behind_the_apps_back(trail[0].pk, ip="2001:0db8:0000:0000:0000:0000:0000:0007")
    assert verify_audit_log().ok


def test_the_chain_columns_changed_in_the_database_are_named(trail):
    first, second, third = trail
    cases = [
        ({"seq": 7}, [("sequence_gap", f"audit record {third.pk} (seq 3)")]),
        ({"prev_hash": "f" * 64}, [("chain_broken", f"audit record {second.pk} (seq 2)")]),
        (
            {"hash": "f" * 64},
            [
                ("hash_mismatch", f"audit record {second.pk} (seq 2)"),
                ("chain_broken", f"audit record {third.pk} (seq 3)"),
            ],
        ),
        (
            {"field_hashes": "ffff" + second.field_hashes[4:]},
            [("field_hashes_mismatch", f"audit record {second.pk} (seq 2)")],
        ),
    ]
    for values, expected in cases:
        behind_the_apps_back(second.pk, **values)
        found = [(check, subject) for check, subject, _detail in problems(verify_audit_log())]
        assert found[: len(expected)] == expected, values
        behind_the_apps_back(second.pk, **{k: getattr(second, k) for k in values})
    assert verify_audit_log().ok


def test_a_renumbered_record_is_named(trail):
    behind_the_apps_back(trail[1].pk, id=trail[2].pk + 100)
    assert problems(verify_audit_log()) == [
        (
            "hash_mismatch",
            f"audit record {trail[2].pk + 100} (seq 2)",
            "stored hash does not match the record (its id, seq or fields)",
        )
    ]


def test_a_deleted_record_is_found_in_the_middle_and_at_the_end(trail):
    # given the middle record deleted
    QuerySet.delete(AuditEntry.objects.filter(pk=trail[1].pk))
    assert [p[:2] for p in problems(verify_audit_log())] == [
        ("sequence_gap", f"audit record {trail[2].pk} (seq 3)"),
        ("chain_broken", f"audit record {trail[2].pk} (seq 3)"),
    ]
    # and then the last one: the head still points at it
    QuerySet.delete(AuditEntry.objects.filter(pk=trail[2].pk))
    assert problems(verify_audit_log())[-1][:2] == ("head_mismatch", "audit chain")


def test_every_column_of_a_record_is_covered():
    # the fields by the record's digest (above), id, seq and the hashes by the chain's link (above)
    columns = {f.attname for f in AuditEntry._meta.concrete_fields}
    assert set(AUDIT_HASHED_FIELDS) == set(FIELD_TAMPERS)
    assert columns == {*FIELD_TAMPERS, "id", "seq", "prev_hash", "hash", "field_hashes"}


def test_a_record_left_unsealed_is_reported_after_the_grace_period(chain, trail):
    # given a record written after the last seal (its process died before sealing it)
    late = audit.record(chain.hq_admin, "update", chain.b1)
    # then it is only counted at first, named once the grace period is over, and named if changed
    report = verify_audit_log()
    assert (report.ok, report.unsealed) == (True, 1)
    later = late.at + UNSEALED_GRACE + datetime.timedelta(seconds=1)
    assert problems(verify_audit_log(now=later)) == [
        ("unsealed", f"audit record {late.pk} (not sealed)", "not in the chain 0:10:00 after it was written")
    ]
    behind_the_apps_back(late.pk, note="edited")
    assert (
        "record_changed",
        f"audit record {late.pk} (not sealed)",
        "note changed since it was recorded",
    ) in problems(verify_audit_log())


def test_records_written_without_field_hashes_are_sealed_with_them(chain):
    # given records as the code before the chain wrote them (during an upgrade, or before the migration)
    QuerySet.delete(AuditEntry.objects.all())
    for note in ("a", "b"):
        AuditEntry.objects.create(
            actor=chain.hq_admin, actor_name="hqadmin", action="update", subject_type="x", note=note
        )
    assert set(AuditEntry.objects.values_list("field_hashes", flat=True)) == {""}
    # when the migration that seals existing records runs
    migration = importlib.import_module("onecard.core.migrations.0007_seal_existing_audit_entries")
    migration.seal_existing(apps, None)
    # then both are chained, carry field hashes and verify
    assert list(AuditEntry.objects.order_by("seq").values_list("note", "seq")) == [("a", 1), ("b", 2)]
    assert "" not in set(AuditEntry.objects.values_list("field_hashes", flat=True))
    assert verify_audit_log().ok


def test_deleting_a_staff_account_keeps_its_records_and_the_chain_intact(chain, trail):
    # given a record of what a staff account did, sealed
    temp = services.create_staff(None, username="temp", password="pass-word-123", node=chain.a1, roles=[])
    record = audit.record(temp, "update", chain.a1, note="by temp")
    seal_audit_log()
    # when the account is deleted
    temp_id = temp.pk
    temp.delete()
    # then the record still names it and nothing in the chain changed
    assert AuditEntry.objects.values_list("actor_id", "actor_name").get(pk=record.pk) == (temp_id, "temp")
    assert verify_audit_log().ok


def test_the_seal_command_chains_what_is_left(chain, trail):
    audit.record(chain.hq_admin, "update", chain.b1)
    out = io.StringIO()
    call_command("audit", "seal", stdout=out)
    assert out.getvalue() == "Sealed 1 audit record(s).\n"
    assert verify_audit_log().unsealed == 0


def test_the_application_cannot_change_or_delete_a_record(trail):
    record = trail[0]
    record.note = "edited"
    with pytest.raises(AuditWriteRefused):
        record.save()
    with pytest.raises(AuditWriteRefused):
        record.delete()
    with pytest.raises(AuditWriteRefused):
        AuditEntry.objects.filter(pk=record.pk).update(note="edited")
    with pytest.raises(AuditWriteRefused):
        AuditEntry.objects.all().delete()
    assert verify_audit_log().ok
