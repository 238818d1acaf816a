"""Models of the loyalty app, one module per sub-domain (the ledger first; cards, holds and points follow)."""

from .cards import Card, CardBatch, CardProduct, MemberTier, Tier, TierChange, TierRule, UsedQrCode
from .ledger import Account, JournalEntry, LedgerWriteRefused, Posting
from .points import PointsEarnRule, PointsLot, PointsLotUse, PointsPolicy, PointsReversal
from .stored_value import CardTransaction, StoredValueSettings, TopupBonusRule

__all__ = [
    "Account",
    "CardTransaction",
    "StoredValueSettings",
    "TopupBonusRule",
    "Card",
    "CardBatch",
    "CardProduct",
    "JournalEntry",
    "LedgerWriteRefused",
    "MemberTier",
    "PointsEarnRule",
    "PointsLot",
    "PointsLotUse",
    "PointsPolicy",
    "PointsReversal",
    "Posting",
    "Tier",
    "TierChange",
    "TierRule",
    "UsedQrCode",
]
