"""Shifts (交班): open with a float, record cash in and out, close by counting the drawer; the day's report.

A cashier has one open shift at a time (a database constraint backs the check). Closing locks the shift
row, refuses a closed one, reads the takings of that cashier at that store since the opening
(pos/shift_takings.py) and keeps them on the shift with the expected cash, the count and the difference,
so the shift report never changes afterwards. A shift without a sale closes like any other: its
expected cash is the float and the movements. Every write is audited. Rules: docs/shifts.md.
"""

import dataclasses
import datetime

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from onecard.core import audit
from onecard.core.errors import ValidationFailed
from onecard.core.money import MAX_AMOUNT
from onecard.core.scoping import node_in_scope, require_node_in_scope, scope
from onecard.org.choices import NodeKind
from onecard.pos.choices import CashMovementKind, ShiftStatus
from onecard.pos.errors import CashOutExceedsDrawer, NotAStore, NotYourShift, ShiftAlreadyOpen, ShiftClosed
from onecard.pos.models import CashMovement, Shift
from onecard.pos.shift_takings import FIGURES, Takings, Window, takings

MANAGE = "shifts.view"  # store managers and above: every shift of their stores, the day's report


def _fen(value, field, *, positive=False) -> int:
    """A whole number of fen within the money range (positive: above zero), else ValidationFailed on `field`."""
    if type(value) is not int or value < (1 if positive else 0) or value > MAX_AMOUNT:
        message = _("Give an amount above zero.") if positive else _("Give an amount of zero or more.")
        raise ValidationFailed({field: [message]})
    return value


def open_shift(actor, store, opening_float, *, note="") -> Shift:
    """Open `actor`'s shift at `store` with `opening_float` fen in the drawer; refused while another is open."""
    if store is None or store.kind != NodeKind.STORE:
        raise NotAStore()
    require_node_in_scope(actor, store)
    opening_float = _fen(opening_float, "opening_float")
    if Shift.objects.filter(cashier=actor, status=ShiftStatus.OPEN).exists():
        raise ShiftAlreadyOpen()
    try:
        with transaction.atomic():
            shift = Shift.objects.create(
                merchant_id=store.merchant_id,
                store=store,
                cashier=actor,
                opening_float=opening_float,
                opened_at=timezone.now(),
                note=(note or "").strip()[:200],
            )
            audit.record(actor, "create", shift, after={"opening_float": opening_float, "store": store.name})
    except IntegrityError:  # another tab opened one between the check and the insert
        raise ShiftAlreadyOpen() from None
    return shift


def open_shift_of(cashier) -> Shift | None:
    """The cashier's open shift, if any."""
    if cashier is None or not cashier.is_authenticated:
        return None
    return Shift.objects.select_related("store").filter(cashier=cashier, status=ShiftStatus.OPEN).first()


def _lock_open(actor, shift) -> Shift:
    """The shift row, locked; refused when closed or when `actor` is neither its cashier nor its manager."""
    shift = Shift.objects.select_for_update().select_related("store").get(pk=shift.pk)
    if not may_act_on(actor, shift):
        raise NotYourShift()
    if shift.status != ShiftStatus.OPEN:
        raise ShiftClosed()
    return shift


def may_act_on(actor, shift) -> bool:
    """The shift's cashier, or a manager (shifts.view) of its store, may record on it and close it."""
    return shift.cashier_id == actor.pk or (actor.has_perm(MANAGE) and node_in_scope(actor, shift.store))


def may_see(user, shift) -> bool:
    """The shift's cashier sees it; managers see the shifts of the stores in their scope."""
    return shift.cashier_id == user.pk or (user.has_perm(MANAGE) and node_in_scope(user, shift.store))


def record_cash_movement(actor, shift, kind, amount, reason) -> CashMovement:
    """Cash into or out of the drawer, with its reason; cash out is refused above what the drawer should hold."""
    if kind not in CashMovementKind.values:
        raise ValidationFailed({"kind": [_("Choose cash in or cash out.")]})
    amount = _fen(amount, "amount", positive=True)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed({"reason": [_("Give the reason for the cash movement.")]})
    with transaction.atomic():
        shift = _lock_open(actor, shift)
        if kind == CashMovementKind.CASH_OUT:
            in_drawer = expected_cash(shift, live_takings(shift))
            if amount > in_drawer:
                raise CashOutExceedsDrawer(extra={"in_drawer": in_drawer, "requested": amount})
        movement = CashMovement.objects.create(
            shift=shift, kind=kind, amount=amount, reason=reason[:200], actor=actor
        )
        audit.record(
            actor, "update", shift, after={"cash_movement": kind, "amount": amount}, note=reason[:300]
        )
    return movement


def movements_total(shift) -> tuple[int, int]:
    """(cash in, cash out) of the shift, fen."""
    sums = dict(
        CashMovement.objects.filter(shift=shift).values_list("kind").annotate(total=Sum("amount")).order_by()
    )
    return sums.get(CashMovementKind.CASH_IN, 0), sums.get(CashMovementKind.CASH_OUT, 0)


def live_takings(shift, now=None) -> Takings:
    """The takings of the shift so far (an open shift) or as kept at its close."""
    if shift.status == ShiftStatus.CLOSED:
        return Takings.from_data(shift.takings)
    return takings(Window(shift.store_id, shift.opened_at, now or timezone.now(), shift.cashier_id))


def expected_cash(shift, shift_takings) -> int:
    """Float + the cash tender's net takings + cash in − cash out."""
    cash_in, cash_out = movements_total(shift)
    return shift.opening_float + shift_takings.cash + cash_in - cash_out


def close_shift(actor, shift, counted_cash, *, note="") -> Shift:
    """交班: count the drawer; the takings, expected cash and difference are kept on the shift. Refused twice."""
    counted_cash = _fen(counted_cash, "counted_cash")
    with transaction.atomic():
        shift = _lock_open(actor, shift)
        now = timezone.now()
        figures = takings(Window(shift.store_id, shift.opened_at, now, shift.cashier_id))
        shift.expected_cash = expected_cash(shift, figures)
        shift.counted_cash = counted_cash
        shift.difference = counted_cash - shift.expected_cash
        shift.takings = figures.as_data()
        shift.status, shift.closed_at, shift.closed_by = ShiftStatus.CLOSED, now, actor
        if note:
            shift.note = f"{shift.note} {note.strip()}".strip()[:200]
        shift.save()
        audit.record(
            actor,
            "update",
            shift,
            after={
                "status": shift.status,
                "expected_cash": shift.expected_cash,
                "counted_cash": counted_cash,
                "difference": shift.difference,
            },
        )
    return shift


# ---- reads ---------------------------------------------------------------------------------------------------


def visible_shifts(user):
    """Shifts of the stores in the user's scope (managers), or only the user's own."""
    shifts = Shift.objects.select_related("store", "cashier", "closed_by")
    if user.has_perm(MANAGE):
        return scope(shifts, user, "store")
    return shifts.filter(cashier=user)


@dataclasses.dataclass
class DayReport:
    """A store's day: its shifts, the takings of the whole day (every cashier), the cash counted against expected."""

    store: object
    day: datetime.date
    shifts: list
    takings: Takings
    opening_floats: int = 0
    cash_in: int = 0
    cash_out: int = 0
    expected_cash: int = 0
    counted_cash: int = 0
    difference: int = 0
    open_shifts: int = 0
    outside_shifts: Takings = None

    @property
    def shortage(self) -> int:
        """Fen missing over the closed shifts (0 when balanced or over)."""
        return max(0, -self.difference)

    @property
    def outside_net(self) -> int:
        """Net takings of the day that no closed shift of the day counted."""
        return self.outside_shifts.total.net if self.outside_shifts is not None else 0


def day_bounds(day) -> tuple[datetime.datetime, datetime.datetime]:
    """Local midnight of `day` and of the day after (the site's time zone, Asia/Shanghai)."""
    start = datetime.datetime.combine(day, datetime.time.min, tzinfo=timezone.get_current_timezone())
    return start, start + datetime.timedelta(days=1)


def day_report(store, day) -> DayReport:
    """Every shift opened at `store` on `day`, the whole day's takings and the shifts' cash figures summed."""
    start, end = day_bounds(day)
    shifts = list(
        Shift.objects.filter(store=store, opened_at__gte=start, opened_at__lt=end)
        .select_related("cashier", "closed_by")
        .order_by("opened_at", "id")
    )
    report = DayReport(store=store, day=day, shifts=shifts, takings=takings(Window(store.pk, start, end)))
    in_shifts = Takings()
    for shift in shifts:
        cash_in, cash_out = movements_total(shift)
        shift.cash_in, shift.cash_out = cash_in, cash_out
        report.opening_floats += shift.opening_float
        report.cash_in += cash_in
        report.cash_out += cash_out
        if shift.status == ShiftStatus.OPEN:
            report.open_shifts += 1
            continue
        in_shifts.merge(Takings.from_data(shift.takings))
        report.expected_cash += shift.expected_cash
        report.counted_cash += shift.counted_cash
        report.difference += shift.difference
    report.outside_shifts = _difference(report.takings, in_shifts)
    return report


def _difference(whole: Takings, part: Takings) -> Takings:
    """What `whole` has beyond `part`, per tender: the day's takings no closed shift of that day counted."""
    rest = Takings()
    for row in whole.rows.values():
        other = part.rows.get(row.tender)
        for figure in FIGURES:
            rest.add(row.tender, figure, getattr(row, figure) - (getattr(other, figure) if other else 0))
    return rest
