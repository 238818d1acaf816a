"""Helpers of the settlement tests: cross-store charges and top-ups posted with clearing legs at a chosen time."""

import contextlib
import datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from onecard.loyalty.ledger import services as ledger
from onecard.loyalty.ledger.choices import AccountKind, EntryKind
from onecard.loyalty.ledger.clearing import clearing_legs
from onecard.loyalty.ledger.services import EntrySpec, leg

SHANGHAI = ZoneInfo("Asia/Shanghai")


def shanghai(year, month, day, hour=12, minute=0):
    return datetime.datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


@contextlib.contextmanager
def ledger_clock(monkeypatch, when):
    """Entries posted inside the block carry `when` as their time (the ledger reads timezone.now)."""
    with monkeypatch.context() as patch:
        patch.setattr(ledger, "timezone", SimpleNamespace(now=lambda: when))
        yield


class Till:
    """A member's card whose value lives at `home`; top-ups and charges at any store, with clearing legs."""

    def __init__(self, monkeypatch, member, home):
        self.monkeypatch, self.member, self.home = monkeypatch, member, home
        self.merchant = home.merchant
        self.principal = ledger.open_account(AccountKind.MEMBER_PRINCIPAL, self.merchant, member=member)

    def topup(self, store, amount, when):
        """Cash taken at `store`: the store owes the card's home the value (when they differ)."""
        cash = ledger.open_account(AccountKind.STORE_CASH, store.merchant, node=store)
        legs = [leg(cash, -amount), leg(self.principal, amount)]
        legs += [leg(account, value) for account, value in clearing_legs(store, self.home, amount)]
        return self._post(EntryKind.TOPUP, store, legs, when)

    def charge(self, store, amount, when):
        """Goods delivered at `store`: the card's home owes the store (when they differ)."""
        revenue = ledger.open_account(AccountKind.STORE_REVENUE, store.merchant, node=store)
        legs = [leg(self.principal, -amount), leg(revenue, amount)]
        legs += [leg(account, value) for account, value in clearing_legs(self.home, store, amount)]
        return self._post(EntryKind.CHARGE, store, legs, when)

    def _post(self, kind, store, legs, when):
        with ledger_clock(self.monkeypatch, when):
            return ledger.post(EntrySpec(kind=kind, merchant=store.merchant, node=store, legs=legs)).entry


def clearing_balance(owner, counterparty):
    """Balance of `owner`'s clearing account towards `counterparty` (a store, or a merchant's store)."""
    from onecard.loyalty.ledger.clearing import clearing_account

    account = clearing_account(owner, counterparty)
    account.refresh_from_db()
    return account.balance


def make_cross_store(chain, member_factory, monkeypatch):
    """Cards homed at A1 and A2 used at the other store on 10 and 11 March 2026 (Asia/Shanghai).

    A = A1, B = A2. Day 1: A1 owes A2 30.00 (charge), A2 owes A1 20.00 (top-up at 23:59).
    Day 2 (00:10): A1 owes A2 5.00, A2 owes A1 12.00.
    """
    at_a1 = Till(monkeypatch, member_factory(store=chain.a1), chain.a1)
    at_a2 = Till(monkeypatch, member_factory(store=chain.a2), chain.a2)
    at_a1.topup(chain.a1, 10000, shanghai(2026, 3, 9))
    at_a2.topup(chain.a2, 5000, shanghai(2026, 3, 9))
    at_a1.charge(chain.a2, 3000, shanghai(2026, 3, 10, 10))
    at_a1.topup(chain.a2, 2000, shanghai(2026, 3, 10, 23, 59))
    at_a1.charge(chain.a2, 500, shanghai(2026, 3, 11, 0, 10))
    at_a2.charge(chain.a1, 1200, shanghai(2026, 3, 11, 15))
    return at_a1, at_a2


def make_alliance_pair(chain, member_factory, monkeypatch):
    """A partner merchant in an alliance with acme; cards crossing between A1/A2 and partner store P1 on 10 March.

    Merchant pair acme (A) – partner (B): acme owes 30.00 + 10.00, partner owes 8.00.
    """
    from onecard.members import services as member_services
    from onecard.org import services as org_services
    from onecard.org.choices import NodeKind
    from onecard.org.models import Alliance

    alliance = Alliance.objects.create(name="联盟")
    chain.merchant.alliance = alliance
    chain.merchant.save(update_fields=["alliance"])
    partner = org_services.create_merchant(None, name="Partner 伙伴", code="partner", alliance=alliance)
    p_hq = partner.nodes.get(kind=NodeKind.HQ)
    p1 = org_services.create_node(None, parent=p_hq, kind=NodeKind.STORE, name="伙伴一店", code="P1")
    acme_card = Till(monkeypatch, member_factory(store=chain.a1), chain.a1)
    acme_card.topup(chain.a1, 10000, shanghai(2026, 3, 9))
    partner_member = member_services.create_member(
        None, partner, {"name": "李四", "phone": "13900001111", "home_store": p1}
    )
    partner_card = Till(monkeypatch, partner_member, p1)
    partner_card.topup(p1, 5000, shanghai(2026, 3, 9))
    acme_card.charge(p1, 3000, shanghai(2026, 3, 10, 11))  # acme (A1) owes partner
    partner_card.topup(chain.a2, 1000, shanghai(2026, 3, 10, 12))  # A2 took cash: acme owes partner
    partner_card.charge(chain.a2, 800, shanghai(2026, 3, 10, 13))  # partner owes acme (A2)
    return partner, p1
