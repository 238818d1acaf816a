"""Card products (卡类型) and card batches: define what a merchant sells, print its numbers into stock.

Products are merchant-wide configuration, so changing them needs the merchant's head office in
the actor's scope. A batch is issued into one store's stock and scoped to that store.
"""

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from onecard.core import audit
from onecard.core.errors import ValidationFailed, refuse_unknown_fields
from onecard.core.scoping import require_node_in_scope
from onecard.loyalty.cards.choices import CardKind, CardStatus
from onecard.loyalty.cards.errors import CardNumbersTaken, InvalidCardRange
from onecard.loyalty.cards.numbers import batch_numbers, range_problem
from onecard.loyalty.models import Card, CardBatch, CardProduct
from onecard.loyalty.models.cards import MIN_ANONYMOUS_VALIDITY_DAYS, new_qr_secret

MAX_BATCH = 100_000
PRODUCT_FIELDS = (
    "name",
    "kind",
    "registered",
    "balance_cap",
    "validity_days",
    "password_threshold",
    "daily_charge_limit",
    "alliance_accepted",
    "is_active",
)


def merchant_root(merchant):
    """The head-office node of a merchant (the root of its org tree)."""
    return merchant.nodes.get(parent__isnull=True)


def require_merchant_wide_scope(actor, merchant):
    """Merchant-wide settings (products, tiers) are changed from head office only."""
    if actor is not None:
        require_node_in_scope(actor, merchant_root(merchant))


def _clean_product(merchant, data):
    errors = {}
    if data.get("kind") not in CardKind.values:
        errors["kind"] = [_("Choose a kind of card.")]
    if not (data.get("name") or "").strip():
        errors["name"] = [_("A name is required.")]
    validity = data.get("validity_days")
    if validity is not None:
        if data.get("registered"):
            errors["validity_days"] = [_("Registered cards do not expire.")]
        elif validity < MIN_ANONYMOUS_VALIDITY_DAYS:
            errors["validity_days"] = [
                _("Anonymous cards are valid for at least %(days)s days (3 years).")
                % {"days": MIN_ANONYMOUS_VALIDITY_DAYS}
            ]
    for name in ("balance_cap", "daily_charge_limit"):
        value = data.get(name)
        if value is not None and (type(value) is not int or value <= 0):
            errors[name] = [_("A whole number of fen above zero.")]
    threshold = data.get("password_threshold")
    if threshold is not None and (type(threshold) is not int or threshold < 0):
        errors["password_threshold"] = [_("A whole number of fen, zero or more.")]
    if type(data.get("alliance_accepted", False)) is not bool:
        errors["alliance_accepted"] = [_("Accepted at alliance merchants is yes or no.")]
    stores = data.get("stores")
    if stores and any(node.merchant_id != merchant.pk or not node.is_store for node in stores):
        errors["stores"] = [_("Only stores of this merchant.")]
    if errors:
        raise ValidationFailed(errors)


@transaction.atomic
def create_product(actor, merchant, *, name, kind, registered=True, balance_cap=None, validity_days=None,
                   password_threshold=None, daily_charge_limit=None, stores=(), alliance_accepted=False,
                   is_active=True) -> CardProduct:  # fmt: skip
    """A new card product; caps, validity and limits default to CHINA-RULES when left None.

    `alliance_accepted`: its cards also work at the merchants of the issuer's alliance (when it has one).
    """
    require_merchant_wide_scope(actor, merchant)
    data = {
        "name": name,
        "kind": kind,
        "registered": registered,
        "balance_cap": balance_cap,
        "validity_days": validity_days,
        "password_threshold": password_threshold,
        "daily_charge_limit": daily_charge_limit,
        "alliance_accepted": alliance_accepted,
        "is_active": is_active,
    }
    _clean_product(merchant, {**data, "stores": list(stores)})
    if CardProduct.objects.filter(merchant=merchant, name=name.strip()).exists():
        raise ValidationFailed({"name": [_("A card product with this name exists.")]})
    product = CardProduct.objects.create(merchant=merchant, **{**data, "name": name.strip()})
    if stores:
        product.stores.set(stores)
    audit.record(actor, "create", product, after=audit.snapshot(product, PRODUCT_FIELDS), merchant=merchant)
    return product


@transaction.atomic
def update_product(actor, product, *, stores=None, **changes) -> CardProduct:
    """Change a product's settings; cards already issued follow the product (they hold no copy)."""
    product = CardProduct.objects.select_for_update().get(pk=product.pk)
    require_merchant_wide_scope(actor, product.merchant)
    refuse_unknown_fields(changes, PRODUCT_FIELDS)
    if "kind" in changes and changes["kind"] != product.kind and product.cards.exists():
        raise ValidationFailed({"kind": [_("The kind cannot change once cards are issued.")]})
    before = audit.snapshot(product, PRODUCT_FIELDS)
    data = {**before, **changes, "stores": list(stores) if stores is not None else []}
    _clean_product(product.merchant, data)
    for name, value in changes.items():
        setattr(product, name, value)
    product.save()
    if stores is not None:
        product.stores.set(stores)
    b, a = audit.diff(before, audit.snapshot(product, PRODUCT_FIELDS))
    audit.record(actor, "update", product, before=b, after=a, merchant=product.merchant)
    return product


# The columns a card in stock sets; the others start NULL. Plain executemany rather than
# bulk_create: compiling 10,000 model instances costs seconds, the insert itself milliseconds.
_STOCK_COLUMNS = ("merchant_id", "product_id", "batch_id", "number", "status", "issued_store_id", "issued_at",
                  "password_hash", "failed_password_attempts", "qr_secret")  # fmt: skip


def _insert_cards(batch, numbers):
    table = connection.ops.quote_name(Card._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in _STOCK_COLUMNS)
    placeholders = ", ".join(["%s"] * len(_STOCK_COLUMNS))
    issued_at = connection.ops.adapt_datetimefield_value(timezone.now())
    fixed = (batch.merchant_id, batch.product_id, batch.pk)
    rows = [
        (*fixed, number, CardStatus.IN_STOCK.value, batch.store_id, issued_at, "", 0, new_qr_secret())
        for number in numbers
    ]
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", rows)  # noqa: S608 - names from the models, values bound


def issue_batch(actor, product, *, store, prefix, start, count, serial_width=8, note="") -> CardBatch:
    """Print `count` card numbers prefix + serial + Luhn digit into `store`'s stock, in one bulk insert.

    Refused whole (nothing written) when the range is malformed (`invalid_card_range`) or any of
    its numbers exists already (`card_numbers_taken`, also backed by the unique card number).
    """
    if store.merchant_id != product.merchant_id or not store.is_store:
        raise InvalidCardRange(_("Cards are issued into a store of the product's merchant."))
    if actor is not None:
        require_node_in_scope(actor, store)
    if not product.is_active:
        raise InvalidCardRange(_("This card product is not on sale."))
    problem = range_problem(prefix, start, count, serial_width)
    if not problem and count > MAX_BATCH:
        problem = f"at most {MAX_BATCH} cards per batch"
    if problem:
        raise InvalidCardRange(extra={"reason": problem})
    with transaction.atomic():
        overlapping = CardBatch.objects.filter(
            prefix=prefix, serial_width=serial_width, start__lt=start + count, start__gt=start - F("count")
        )
        if overlapping.exists():
            raise CardNumbersTaken(extra={"batches": list(overlapping.values_list("pk", flat=True))})
        batch = CardBatch.objects.create(
            merchant_id=product.merchant_id,
            product=product,
            store=store,
            prefix=prefix,
            serial_width=serial_width,
            start=start,
            count=count,
            note=note,
            created_by=actor if actor is not None and actor.pk else None,
        )
        numbers = batch_numbers(prefix, start, count, serial_width)
        try:
            with transaction.atomic():
                _insert_cards(batch, numbers)
        except IntegrityError:
            # Another prefix/width combination produced the same digits (e.g. "12"+8 vs "1"+9).
            raise CardNumbersTaken() from None
        audit.record(
            actor,
            "create",
            batch,
            after={"product": product.pk, "first": numbers[0], "last": numbers[-1], "count": count},
            merchant=product.merchant,
        )
    return batch
