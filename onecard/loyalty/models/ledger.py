"""The double-entry ledger: accounts, immutable journal entries and their postings.

Only `onecard.loyalty.ledger.services` writes balances and journal rows. The model layer refuses the
usual ways of doing it by accident (`save()` of a balance, `QuerySet.update(balance=...)`,
editing or deleting a journal row), so a stray write fails loudly instead of silently breaking
the books; `onecard ledger verify` catches whatever goes around the ORM.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from onecard.core.fields import member_field, merchant_field, node_field, protected_fk, protected_staff_field
from onecard.core.models import AppendOnlyQuerySet, WriteGuardedModel
from onecard.loyalty.ledger.choices import AccountKind, Currency, EntryKind


class LedgerWriteRefused(RuntimeError):
    """A write to ledger state from outside onecard.loyalty.ledger.services (a programming error, not a refusal)."""


# Columns that only the ledger writes, together, under the account's row lock.
LEDGER_FIELDS = frozenset({"balance", "version", "last_entry_hash"})


class AccountQuerySet(models.QuerySet):
    def update(self, **kwargs):
        if LEDGER_FIELDS.intersection(kwargs):
            raise LedgerWriteRefused(
                "Account balances change only through onecard.loyalty.ledger.services.post()"
            )
        return super().update(**kwargs)


class Account(models.Model):
    """One account of the ledger: who owns it (merchant, store, member, card), what it counts, its balance.

    `balance` is a cache of the sum of the account's postings, kept in the same transaction as
    the postings; `version` is the number of postings and `last_entry_hash` the head of the
    account's hash chain. `key` is the natural key (one account per owner and purpose), built by
    `ledger.account_key()`, so finding or opening an account is one indexed lookup.
    """

    key = models.CharField(max_length=200, unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=20, choices=AccountKind.choices)
    currency = models.CharField(_("currency"), max_length=8, choices=Currency.choices)
    # Balances of different merchants may meet in one entry (alliances settle through clearing).
    merchant = merchant_field(_("merchant"))
    node = node_field(_("store"), optional=True)
    member = member_field(_("member"), related_name="ledger_accounts", optional=True)
    # The card model arrives later; an id now keeps the owner reference indexed without a FK.
    card_id = models.BigIntegerField(_("card"), null=True, blank=True)
    # For clearing accounts: the other side of the pair (another store, or another merchant).
    counterparty_merchant = merchant_field(optional=True)
    counterparty_node = node_field(optional=True)
    must_not_go_negative = models.BooleanField(_("must not go negative"), default=False)
    balance = models.BigIntegerField(_("balance"), default=0, editable=False)
    version = models.BigIntegerField(default=0, editable=False)
    last_entry_hash = models.CharField(max_length=64, default="", blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = AccountQuerySet.as_manager()

    class Meta:
        verbose_name = _("ledger account")
        verbose_name_plural = _("ledger accounts")
        constraints = [
            # The last guard behind the ledger's own check (ARCHITECTURE.md, Money and the ledger).
            models.CheckConstraint(
                condition=Q(must_not_go_negative=False) | Q(balance__gte=0),
                name="loyalty_account_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(currency__in=Currency.values), name="loyalty_account_currency_known"
            ),
            models.CheckConstraint(condition=Q(version__gte=0), name="loyalty_account_version_not_negative"),
        ]
        indexes = [
            models.Index(fields=["member", "kind"], name="loyalty_account_member"),
            models.Index(fields=["card_id", "kind"], name="loyalty_account_card"),
            models.Index(fields=["merchant", "kind", "node"], name="loyalty_account_merchant"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} #{self.pk}"

    def save(self, *args, **kwargs):
        """Insert empty; an update writes only the descriptive fields and refuses a changed balance.

        A stale in-memory balance (the ledger posted since this row was read) is simply not
        written, so saving a loaded account can never undo a posting.
        """
        if self._state.adding:
            if self.balance or self.version or self.last_entry_hash:
                raise LedgerWriteRefused("A new account starts empty; post an entry to give it a balance")
            return super().save(*args, **kwargs)
        if self._ledger_state() != getattr(self, "_loaded_ledger_state", self._ledger_state()):
            raise LedgerWriteRefused(
                "Account balances change only through onecard.loyalty.ledger.services.post()"
            )
        update_fields = kwargs.pop("update_fields", None)
        if update_fields is None:
            update_fields = [
                f.name
                for f in self._meta.concrete_fields
                if not f.primary_key and f.name not in LEDGER_FIELDS
            ]
        elif LEDGER_FIELDS.intersection(update_fields):
            raise LedgerWriteRefused(
                "Account balances change only through onecard.loyalty.ledger.services.post()"
            )
        return super().save(*args, update_fields=update_fields, **kwargs)

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._loaded_ledger_state = instance._ledger_state()
        return instance

    def refresh_from_db(self, *args, **kwargs):
        super().refresh_from_db(*args, **kwargs)
        self._loaded_ledger_state = self._ledger_state()

    def _ledger_state(self):
        return (
            self.__dict__.get("balance"),
            self.__dict__.get("version"),
            self.__dict__.get("last_entry_hash"),
        )


class ImmutableQuerySet(AppendOnlyQuerySet):
    """The journal is append-only: corrections are new entries, so bulk edits and deletes are refused."""

    refusal = LedgerWriteRefused
    refusal_message = "The journal is append-only; post a reversing entry instead"


class ImmutableModel(models.Model):
    """A row that is inserted once and never changed or deleted through the ORM."""

    objects = ImmutableQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise LedgerWriteRefused(f"{type(self).__name__} rows are immutable")
        kwargs["force_insert"] = True
        return super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise LedgerWriteRefused(f"{type(self).__name__} rows are immutable")


class GuardedModel(WriteGuardedModel):
    """A business record its services insert, then change only in `mutable_fields` (none by default).

    Any other save of a stored row raises `change_refused`, and deleting one raises `delete_refused`
    (None: deletes are allowed), as LedgerWriteRefused. Only instance writes are guarded: the owning
    services may update such rows in bulk (a card merge moves a card's packages), which the journal
    never allows.
    """

    refusal = LedgerWriteRefused

    class Meta:
        abstract = True


class JournalEntry(ImmutableModel):
    """One business event that moves value (a top-up, a charge, a refund...); its postings sum to zero.

    Never edited: a mistake is corrected by a new entry that `reverses` it (at most one per entry,
    enforced by the one-to-one column). `refers_to` links follow-ups that may be many (the
    captures of a hold, the partial refunds of a charge). `idempotency_key` keeps the request key
    as text because key records are purged after their retention period while entries stay.
    """

    kind = models.CharField(_("kind"), max_length=20, choices=EntryKind.choices)
    merchant = merchant_field(_("merchant"))
    node = node_field(_("store"), optional=True)
    actor = protected_staff_field(_("actor"))
    created_at = models.DateTimeField(_("time"), default=timezone.now)
    memo = models.CharField(_("memo"), max_length=200, blank=True)
    reverses = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by"
    )
    refers_to = protected_fk("self", related_name="follow_ups", optional=True)
    # "scope:key" as run_idempotent names it (scope ≤ 100, key ≤ 255 characters).
    idempotency_key = models.CharField(max_length=360, blank=True, default="")
    business_ref = models.CharField(_("reference"), max_length=64, blank=True, default="")
    # The rule its postings' hashes follow (ledger.HASH_VERSION): 1 for entries written before
    # rule 2 covered every field. The database default keeps a process still running the old code
    # during an upgrade writing entries that verify under rule 1.
    hash_version = models.PositiveSmallIntegerField(db_default=1, editable=False)
    # Four hex digits per hashed field (core.hashchain.field_hashes): `ledger verify` names the field
    # that changed. Empty under rule 1.
    field_hashes = models.CharField(max_length=64, db_default="", blank=True, editable=False)

    class Meta:
        verbose_name = _("journal entry")
        verbose_name_plural = _("journal entries")
        indexes = [
            models.Index(fields=["merchant", "created_at"], name="loyalty_entry_merchant_time"),
            models.Index(fields=["node", "created_at"], name="loyalty_entry_node_time"),
            # the dashboards' liability charts read today's postings of every merchant's cards
            models.Index(fields=["created_at"], name="loyalty_entry_time"),
            models.Index(
                fields=["business_ref"], name="loyalty_entry_business_ref", condition=~Q(business_ref="")
            ),
            models.Index(
                fields=["idempotency_key"], name="loyalty_entry_idem_key", condition=~Q(idempotency_key="")
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} #{self.pk}"


class Posting(ImmutableModel):
    """One line of an entry: a signed amount on one account, the balance after it, and the chain hash.

    `seq` numbers the account's postings 1, 2, 3...; `prev_hash` is the hash of posting seq-1 of
    the same account (64 zeros for the first) and `hash` = sha256 over prev_hash, entry id,
    account id, seq, amount, balance_after, the account's key, currency and guard, and every field
    of the entry (ledger.posting_hash; entries of hash_version 1: ledger.posting_hash_v1).
    """

    entry = protected_fk(JournalEntry, related_name="postings")
    account = protected_fk(Account, related_name="postings")
    amount = models.BigIntegerField(_("amount"))
    balance_after = models.BigIntegerField(_("balance after"))
    seq = models.BigIntegerField()
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("posting")
        verbose_name_plural = _("postings")
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="loyalty_posting_amount_not_zero"),
            models.UniqueConstraint(fields=["account", "seq"], name="loyalty_posting_account_seq"),
        ]

    def __str__(self):
        return f"{self.account_id} {self.amount:+d} → {self.balance_after}"
