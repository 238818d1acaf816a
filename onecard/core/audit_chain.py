"""The audit log's hash chain: seal committed records into it, and verify it (`onecard audit verify`).

A record is written with its field hashes inside the business transaction, without any lock, and
sealed into ONE installation-wide chain right after that transaction commits (`seal_after_commit`),
in a short transaction of its own under the chain head's row lock. Sealing inside the business
transaction would make every audited change queue on the head from its first audit row to its
commit, and a checkout that audits, then locks card accounts, would deadlock against a void that
locks them, then audits. A record is therefore unsealed for the moment between its commit and its
seal (at most a minute: the job `seal_audit_log` takes what a busy head or a crash left behind);
its field hashes protect it in between. docs/operations.md has the figures.
"""

import datetime
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone

from onecard.core import hashchain
from onecard.core.hashchain import Problem
from onecard.core.models import AuditChainHead, AuditEntry

# Every field of an audit record, in its hashed order; its id and seq go into the chain's link.
AUDIT_HASHED_FIELDS = (
    "at", "actor_id", "actor_name", "action", "subject_type", "subject_id", "subject_repr", "node_id",
    "merchant_id", "before", "after", "note", "ip", "user_agent",
)  # fmt: skip
_IP = AUDIT_HASHED_FIELDS.index("ip")
SEAL_BATCH = 1000
# A record still unsealed after this long was left behind (a crash between commit and seal).
UNSEALED_GRACE = datetime.timedelta(minutes=10)


def record_fields(values) -> list[tuple[str, object]]:
    """[(name, value)] of a record's hashed fields, from a dict or a row in AUDIT_HASHED_FIELDS order."""
    if isinstance(values, dict):
        values = [values[name] for name in AUDIT_HASHED_FIELDS]
    values = list(values)
    # The database may spell an address differently from how it was written (inet, IPv6 forms).
    values[_IP] = hashchain.ip_value(values[_IP])
    return list(zip(AUDIT_HASHED_FIELDS, values, strict=True))


def record_link(prev_hash, record_id, seq, fields) -> str:
    """The chain link of one record: the previous link, its id and number, and the digest of every field."""
    return hashchain.link(prev_hash, record_id, seq, hashchain.digest(fields))


def seal_audit_log(
    *, batch=SEAL_BATCH, if_free=False, entry_model=AuditEntry, head_model=AuditChainHead
) -> int:
    """Chain every committed record not sealed yet, oldest id first; the number sealed.

    Each batch is one short transaction holding the head's row lock: two sealers take turns, and
    the second finds only what the first left. `if_free`: when another sealer holds the head, give
    up at once (0) instead of queueing behind it; the next seal or the job takes the records.
    A record without field hashes (written by the code before the chain, or during an upgrade)
    gets them now. Models: the migration passes its own.
    """
    sealed = 0
    while True:
        with transaction.atomic():
            head = _locked_head(head_model, if_free)
            if head is None:
                return sealed
            rows = list(
                entry_model.objects.filter(seq__isnull=True)
                .order_by("id")
                .values_list("id", "field_hashes", *AUDIT_HASHED_FIELDS)[:batch]
            )
            updates = []
            for record_id, stored, *values in rows:
                fields = record_fields(values)
                seq = head.seq + 1
                link = record_link(head.hash, record_id, seq, fields)
                updates.append((stored or hashchain.field_hashes(fields), seq, head.hash, link, record_id))
                head.seq, head.hash = seq, link
            if updates:
                _write_seals(entry_model, updates)
                head.save(update_fields=["seq", "hash"])
        sealed += len(rows)
        if len(rows) < batch:
            return sealed


def _locked_head(head_model, if_free):
    """The chain head, locked for this transaction (created at the first seal); None if busy and `if_free`."""
    head = head_model.objects.select_for_update(skip_locked=if_free).filter(pk=1).first()
    if head is None and not (if_free and head_model.objects.filter(pk=1).exists()):
        head, _created = head_model.objects.select_for_update().get_or_create(pk=1)
    return head


def _write_seals(entry_model, updates):
    """One UPDATE per record, sent as a batch (plain SQL: bulk_update's CASE compiles 20 times slower)."""
    table = connection.ops.quote_name(entry_model._meta.db_table)
    sql = f"UPDATE {table} SET field_hashes = %s, seq = %s, prev_hash = %s, hash = %s WHERE id = %s"  # noqa: S608 - the model's table, values bound
    with connection.cursor() as cursor:
        cursor.executemany(sql, updates)


def _seal_committed():
    seal_audit_log(if_free=True)


def seal_after_commit() -> None:
    """Seal the current transaction's records once it commits (at once outside a transaction); once per transaction.

    A request never queues behind another sealer (if_free): under load the sealer at work or the
    next one takes its records, and the job seal_audit_log whatever is left when traffic stops.
    robust: a failed seal is logged and never undoes or fails the change it follows.
    """
    if any(callback is _seal_committed for _savepoints, callback, _robust in connection.run_on_commit):
        return
    transaction.on_commit(_seal_committed, robust=True)


@dataclass
class AuditVerifyReport:
    """What `verify_audit_log` counted and every difference it found."""

    sealed: int = 0
    unsealed: int = 0
    head_seq: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, check, subject, detail):
        self.problems.append(Problem(check, subject, detail))


def _names(fields) -> str:
    return ", ".join(name.removesuffix("_id") for name in fields)


def _check_fields(report, subject, fields, stored, link_matches):
    """Name the changed fields: the chain says whether the record changed, its field hashes say where."""
    changed = hashchain.changed_fields(fields, stored) if stored else []
    if not link_matches:
        if changed:
            report.add("record_changed", subject, f"{_names(changed)} changed since it was recorded")
        else:
            report.add(
                "hash_mismatch", subject, "stored hash does not match the record (its id, seq or fields)"
            )
    elif changed:
        report.add(
            "field_hashes_mismatch",
            subject,
            f"field_hashes differ in {_names(changed)}, but the chain matches",
        )


def verify_audit_log(*, now=None, chunk_size=5000) -> AuditVerifyReport:
    """Recompute the audit log's chain and every record's field hashes; an empty `problems` means untouched."""
    report = AuditVerifyReport()
    columns = ("id", "seq", "prev_hash", "hash", "field_hashes", *AUDIT_HASHED_FIELDS)
    expected_seq, previous = 1, hashchain.GENESIS_HASH
    sealed = AuditEntry.objects.filter(seq__isnull=False).order_by("seq").values_list(*columns)
    for record_id, seq, prev_hash, hash_, stored, *values in sealed.iterator(chunk_size=chunk_size):
        report.sealed += 1
        subject = f"audit record {record_id} (seq {seq})"
        if seq != expected_seq:
            report.add("sequence_gap", subject, f"expected seq {expected_seq}: records are missing before it")
        if prev_hash != previous:
            report.add("chain_broken", subject, "prev_hash is not the hash of the record before it")
        fields = record_fields(values)
        _check_fields(
            report, subject, fields, stored, record_link(prev_hash, record_id, seq, fields) == hash_
        )
        expected_seq, previous = seq + 1, hash_
    head = AuditChainHead.objects.filter(pk=1).values_list("seq", "hash").first()
    head = head or (0, hashchain.GENESIS_HASH)  # nothing sealed yet
    report.head_seq = head[0]
    if head != (expected_seq - 1, previous):
        report.add(
            "head_mismatch",
            "audit chain",
            f"the head is at seq {head[0]}, the last sealed record at seq {expected_seq - 1}: "
            "records deleted from the end, or the head edited",
        )

    cutoff = (now or timezone.now()) - UNSEALED_GRACE
    unsealed = (
        AuditEntry.objects.filter(seq__isnull=True)
        .order_by("id")
        .values_list("id", "field_hashes", *AUDIT_HASHED_FIELDS)
    )
    for record_id, stored, *values in unsealed.iterator(chunk_size=chunk_size):
        report.unsealed += 1
        subject = f"audit record {record_id} (not sealed)"
        fields = record_fields(values)
        changed = hashchain.changed_fields(fields, stored) if stored else []
        if changed:
            report.add("record_changed", subject, f"{_names(changed)} changed since it was recorded")
        if dict(fields)["at"] < cutoff:
            report.add("unsealed", subject, f"not in the chain {UNSEALED_GRACE} after it was written")
    return report
