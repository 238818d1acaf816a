"""The dynamic member QR (L7): a code that changes every 30 s, derived from the card's secret.

    OC1.<card no.>.<time step>.<mac>     mac = HMAC-SHA256(card.qr_secret, "<card id>.<step>")[:12 hex]

A step is 30 s; `verify_qr` accepts the current step and one step either side (a code shown just
before the step turned, or a till whose clock is a little ahead). Older codes are refused with
`qr_expired`, so a screenshot is useless after at most 90 s; a code accepted once is refused
with `qr_replayed`. Used codes are rows of `UsedQrCode` with a unique (card, step): the database,
not the cache, because the embedded default's cache lives in one process and the unique index
makes two tills racing with one screenshot produce exactly one winner. The row is written in the
caller's transaction, so a sale that is refused and rolled back leaves the code usable.
One code per card and step: a second sale within the same 30 s waits for the next code.
"""

import datetime
import hashlib
import hmac
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from onecard.loyalty.cards.errors import QrExpired, QrInvalid, QrReplayed
from onecard.loyalty.models import Card, UsedQrCode

PREFIX = "OC1."
STEP_SECONDS = 30
SKEW_STEPS = 1
MAC_CHARS = 12  # 48 bits: an online guess succeeds once in 2.8e14 tries, and codes live 90 s
KEEP_USED = datetime.timedelta(minutes=10)


@dataclass(frozen=True)
class QrCode:
    """A code to show: its payload, its step and when the till stops accepting it."""

    payload: str
    step: int
    valid_until: datetime.datetime


def time_step(at=None) -> int:
    """The number of 30-second steps since the Unix epoch at `at` (now by default)."""
    return int((at or timezone.now()).timestamp()) // STEP_SECONDS


def _mac(card, step) -> str:
    message = f"{card.pk}.{step}".encode()
    return hmac.new(bytes.fromhex(card.qr_secret), message, hashlib.sha256).hexdigest()[:MAC_CHARS]


def current_qr(card, *, at=None) -> QrCode:
    """The code the member page shows now for `card`."""
    step = time_step(at)
    valid_until = datetime.datetime.fromtimestamp((step + 1 + SKEW_STEPS) * STEP_SECONDS, tz=datetime.UTC)
    return QrCode(
        payload=f"{PREFIX}{card.number}.{step}.{_mac(card, step)}", step=step, valid_until=valid_until
    )


def verify_qr(payload, *, at=None, consume=True) -> Card:
    """The card behind a QR payload; raises qr_invalid, qr_expired or qr_replayed.

    With `consume` (the default) the code is marked used in the caller's transaction. The card's
    status is not checked here: resolve_card() does that.
    """
    parts = (payload or "").strip().split(".")
    if len(parts) != 4 or f"{parts[0]}." != PREFIX or not parts[1].isdigit() or not parts[2].isdigit():
        raise QrInvalid()
    number, step, mac = parts[1], int(parts[2]), parts[3].lower()
    card = Card.objects.select_related("product", "member", "issued_store").filter(number=number).first()
    # An unknown number and a wrong mac look the same to the caller: nothing to probe numbers with.
    if card is None or not card.qr_secret or not hmac.compare_digest(mac, _mac(card, step)):
        raise QrInvalid()
    now_step = time_step(at)
    if step < now_step - SKEW_STEPS:
        raise QrExpired(extra={"card": card.number})
    if step > now_step + SKEW_STEPS:
        raise QrInvalid()
    if consume:
        try:
            with transaction.atomic():
                UsedQrCode.objects.create(card=card, step=step, used_at=at or timezone.now())
        except IntegrityError:
            raise QrReplayed(extra={"card": card.number}) from None
    return card


def purge_used_codes(now=None) -> int:
    """Forget used codes that are long past the accepted window (run from the daily jobs)."""
    cutoff = (now or timezone.now()) - KEEP_USED
    deleted, _by_model = UsedQrCode.objects.filter(used_at__lt=cutoff).delete()
    return deleted
